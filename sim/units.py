"""Units of time used throughout: the model's clock runs in days."""
from __future__ import annotations

DAYS_PER_WEEK = 7.0
DAYS_PER_YEAR = 365.25
MONTHS_PER_YEAR = 12.0
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
WEEKS_PER_YEAR = DAYS_PER_YEAR / DAYS_PER_WEEK
#: the round 52 weeks a year used to turn monthly declaration hours into weekly
#: ones (12 / 52), not the calendar's WEEKS_PER_YEAR (52.18)
WHOLE_WEEKS_PER_YEAR = 52.0


def add_years(d, years: int):
    """The date ``d`` plus ``years`` calendar years (29 February becomes 28 February)."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
