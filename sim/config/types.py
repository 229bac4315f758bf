"""The value types of a config and the base model every config section uses.

Validation is strict: a number is a number (not ``true``, not the text
``"2"``), an integer is a whole number (``60`` or ``60.0``, not ``true``),
a date is a real ``YYYY-MM-DD`` date (not a Unix timestamp, not
``2029-02-30``), and no number is NaN, infinite or beyond
:data:`MAX_MAGNITUDE`. Every refusal names the key path (see
:func:`sim.config.loading.format_error`).
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Iterator

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

#: no number in a config is larger in magnitude: beyond it samplers overflow
#: and counts run away (a "never" is written 1e12 days, as in the verification configs)
MAX_MAGNITUDE = 1e15

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _whole(v: Any) -> Any:
    """``60.0`` (as a design or a JSON round trip may give it) -> ``60``; a boolean
    is refused (``count: true`` is no count); the rest as is."""
    if isinstance(v, bool):
        raise ValueError(f"got {v}; expected a whole number")
    if isinstance(v, float) and not isinstance(v, bool) and math.isfinite(v) and v.is_integer():
        return int(v)
    return v


def _date(v: Any) -> Any:
    """A date, or ISO text of a real date; anything else is refused with what it is."""
    if isinstance(v, dt.datetime):
        raise ValueError(f"got {v.isoformat()!r} (a date and time); expected a date YYYY-MM-DD")
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        if not _ISO_DATE.match(v.strip()):
            raise ValueError(f"got {v!r}; expected a date YYYY-MM-DD")
        try:
            return dt.date.fromisoformat(v.strip())
        except ValueError as exc:
            raise ValueError(f"got {v!r}; expected a real date YYYY-MM-DD ({exc})") from None
    raise ValueError(f"got {v!r}; expected a date YYYY-MM-DD")


def _pair(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


#: a whole number (not a boolean)
Int = Annotated[int, BeforeValidator(_whole)]
#: a calendar date written YYYY-MM-DD
Date = Annotated[dt.date, BeforeValidator(_date)]
#: a share or probability, in [0, 1]
Share = Annotated[float, Field(ge=0, le=1)]
#: a pair of numbers (YAML writes it as a list)
Pair = Annotated[tuple[float, float], BeforeValidator(_pair)]


def _numbers(name: str, value: Any) -> Iterator[tuple[str, float]]:
    """The numbers directly in a field's value (nested models check their own)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield name, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(f"{name}.{k}", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _numbers(f"{name}.{i}", v)


class Section(BaseModel):
    """A config section: immutable, unknown keys refused, strict types, finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True,
                              allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounded_magnitudes(self):
        for name, field in type(self).model_fields.items():
            for key, x in _numbers(field.alias or name, getattr(self, name)):
                if abs(x) > MAX_MAGNITUDE:
                    raise ValueError(f"{key}: got {x:g}; expected a number of magnitude at most "
                                     f"{MAX_MAGNITUDE:.0e}")
        return self
