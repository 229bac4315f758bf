"""Units of time used throughout: the model's clock runs in days."""
from __future__ import annotations

DAYS_PER_WEEK = 7.0
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
WEEKS_PER_YEAR = DAYS_PER_YEAR / DAYS_PER_WEEK
