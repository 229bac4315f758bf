"""Files on disk: the one CSV codec, atomic writes and JSON.

Every CSV file the project writes (``caresim run`` and ``compare`` outputs,
a sweep's part files, the report's tables) is written by :func:`write_csv`
and read back by :func:`read_csv`, with one cell convention:

==================  =======================  ==========================================
value               cell                     read back as
==================  =======================  ==========================================
``True``/``False``  ``True`` / ``False``     bool, when every cell of the column is one
int                 ``-12``                  int64, when every cell is an integer
float               ``repr``: ``0.1``,       float64, exactly (``repr`` round-trips);
                    ``1e+300``, ``inf``,     also when the column mixes integers and
                    ``nan``                  floats
``None``, ``""``    empty                    NaN in a numeric column, ``""`` in a text one
str                 as is                    str (object array)
dict, list, tuple   JSON, sorted keys        str
date, Path, other   ``str(value)``           str
==================  =======================  ==========================================

numpy scalars are written as the Python value they hold. A column is typed
as a whole: the first of bool, int64, float64 that every cell fits, else
text; an all-empty column is text. So a typed numpy column (bool, integer,
float with NaN and infinities; a NaN's sign bit is not kept) reads back with
the same dtype and values, and so does a text column unless every one of its
cells looks like a boolean or a number: name such columns in ``text=``
(design point ids, regime names and error messages never turn into numbers).

pandas reads the same files to the same types and values with
``pandas.read_csv(path, **pandas_options(text))`` (``True``/``False`` are
pandas' own booleans, ``nan`` its missing float; empty cells stay ``""``).

Every file is written to a hidden temporary name in its own folder, flushed
to disk and renamed over its final name (``os.replace``): a reader sees a file
whole or not at all.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

__all__ = ["cell", "write_csv", "read_csv", "encode_csv", "parse_csv", "parse_column", "pandas_options",
           "atomic_path", "write_bytes", "write_json", "is_temporary"]

TRUE, FALSE = "True", "False"
_TEMPORARY = re.compile(r"^\..+\.tmp$")


# --------------------------------------------------------------------------- cells
def cell(value: Any) -> str:
    """``value`` as CSV text under the module's convention (see the table above)."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE if value else FALSE
    if isinstance(value, float):
        return repr(value)          # 'nan', 'inf', '-inf' and full precision
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _column_cells(values: Any) -> list:
    """The cells of one column. Bool, integer and float arrays go to the csv
    module as Python values, which it writes exactly as :func:`cell` does
    (``str``: True/False, digits, ``repr`` of floats); anything else cell by cell."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return (values.astype(float, copy=False) if values.dtype.kind == "f" else values).tolist()
    return [cell(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]


# --------------------------------------------------------------------------- writing
def _header_and_body(columns: Optional[Mapping[str, Sequence[Any]]], header: Optional[Sequence[str]],
                     rows: Optional[Iterable[Sequence[Any]]]) -> tuple[list[str], Iterable[Sequence[Any]]]:
    if (columns is None) == (header is None):
        raise TypeError("write_csv: give either columns or header and rows")
    if columns is not None:
        return list(columns), zip(*(_column_cells(columns[k]) for k in columns))
    return list(header), ([cell(v) for v in row] for row in (rows or ()))


def write_csv(path: str | Path, columns: Optional[Mapping[str, Sequence[Any]]] = None, *,
              header: Optional[Sequence[str]] = None, rows: Optional[Iterable[Sequence[Any]]] = None,
              sync_dir: bool = False) -> Path:
    """Write a CSV file atomically: from ``columns`` (name -> equal-length
    values) or from ``header`` and ``rows``. Creates the parent folder."""
    path = Path(path)
    header, body = _header_and_body(columns, header, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, sync_dir=sync_dir) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(body)
    return path


def encode_csv(columns: Mapping[str, Sequence[Any]]) -> bytes:
    """The bytes :func:`write_csv` writes for ``columns`` (UTF-8), in memory:
    for a file whose checksum must be known before it is written."""
    header, body = _header_and_body(columns, None, None)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(body)
    return buf.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- reading
def parse_column(cells: Sequence[str], text: bool = False) -> np.ndarray:
    """A column of CSV cells as a typed numpy array (the inverse of :func:`cell`)."""
    cells = list(cells)
    if text or not cells:
        return np.array(cells, dtype=object)
    if set(cells) <= {TRUE, FALSE}:
        return np.array([c == TRUE for c in cells], dtype=bool)
    if all(c.lstrip("-").isdigit() for c in cells):
        try:
            return np.array([int(c) for c in cells], dtype=np.int64)
        except (ValueError, OverflowError):     # e.g. beyond int64: read as float
            pass
    if any(cells):
        try:
            return np.array([float(c) if c else math.nan for c in cells], dtype=float)
        except ValueError:
            pass
    return np.array(cells, dtype=object)


def read_csv(path: str | Path, text: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """A CSV file as a dict of typed numpy columns (see the module docstring);
    columns named in ``text`` are kept as text. An empty file gives ``{}``."""
    with open(path, newline="", encoding="utf-8") as fh:
        return _parse_rows(list(csv.reader(fh)), text)


def parse_csv(data: str, text: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """CSV text (e.g. a file's verified bytes, decoded) as :func:`read_csv` reads a file."""
    return _parse_rows(list(csv.reader(io.StringIO(data, newline=""))), text)


def _parse_rows(rows: list[list[str]], text: Iterable[str]) -> dict[str, np.ndarray]:
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    text = set(text)
    return {name: parse_column([r[i] if i < len(r) else "" for r in body], name in text)
            for i, name in enumerate(header)}


def pandas_options(text: Iterable[str] = ()) -> dict[str, Any]:
    """Keyword arguments of ``pandas.read_csv`` that read these files as
    :func:`read_csv` does (``text`` columns as str)."""
    import pandas as pd

    opts: dict[str, Any] = {"keep_default_na": False, "na_values": ["nan"],
                            "dtype": {name: str for name in text}}
    if int(pd.__version__.split(".")[0]) < 3:   # pandas 3 reads floats exactly by default
        opts["float_precision"] = "round_trip"
    return opts


def date_columns(names: Iterable[str]) -> list[str]:
    """The columns holding dates, by name: ``date`` and ``*_date`` (e.g. the
    monthly tables' ``date``); they are ISO text in the CSV files."""
    return [n for n in names if n == "date" or str(n).endswith("_date")]


def with_dates(frame: Any) -> Any:
    """A pandas DataFrame with its date columns (:func:`date_columns`) as
    datetime64, so they sort, resample and plot as dates (in place; returned)."""
    import pandas as pd

    for name in date_columns(frame.columns):
        if not pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601")
    return frame


# --------------------------------------------------------------------------- atomic files
def is_temporary(name: str) -> bool:
    """Whether a file name is one of :func:`atomic_path`'s temporaries."""
    return bool(_TEMPORARY.match(name))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, sync_dir: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary path next to ``path``; on success it is
    flushed to disk (fsync) and renamed over ``path`` (``os.replace``); on
    failure removed. ``sync_dir`` also flushes the rename itself (without it,
    an OS crash may forget a rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def write_bytes(path: str | Path, data: bytes, sync_dir: bool = False) -> Path:
    """``data`` as the whole content of ``path``, atomically (:func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path, sync_dir=sync_dir) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return path


# --------------------------------------------------------------------------- JSON
def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (dt.date, dt.datetime, Path)):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_json_object(path: str | Path) -> Optional[dict]:
    """A JSON file that holds an object (a manifest, a sidecar); None when there
    is no such file. Anything else there raises StoreError with one line."""
    from .errors import StoreError

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise StoreError(f"{path}: not UTF-8 text; expected a JSON object") from None
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}); expected a JSON object") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: not a JSON object (it holds a {type(data).__name__}); expected the manifest "
                         "that caresim writes")
    return data


def write_json(path: str | Path, data: Mapping[str, Any]) -> Path:
    """``data`` as indented JSON, atomically (numpy values, dates and paths
    converted; NaN written as JSON's ``NaN``)."""
    path = Path(path)
    with atomic_path(path, sync_dir=True) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, default=_json_default, allow_nan=True)
            fh.write("\n")
    return path
