"""An append-safe, self-checking result store for sweeps, and ``load_results``.

Layout of a store ``DIR``::

    DIR/manifest.json                       spec, resolved configs, versions, code fingerprint
    DIR/runs/<point>_<regime>_<rep>.csv     one row per run (the run's commit marker)
    DIR/checks/<point>_<regime>_<rep>.json  SHA-256, size and row count of each of the run's part files
    DIR/episodes/<point>_<regime>_<rep>.csv when the spec asks for episodes
    DIR/monthly/...  DIR/yearly/...         likewise

(``.parquet`` instead of ``.csv`` for a store made with ``format="parquet"``.)
Every file is written to a hidden temporary name in its own folder, flushed
to disk and renamed over its final name (``os.replace``), so a reader or a
resumed sweep sees a file whole or not at all. A run's tables are written
first, then its check file (which covers the tables and the row about to be
written), its row last: a run counts as done only once its row exists, so a
sweep killed at any moment (even SIGKILL) and run again ends with exactly
the rows of an uninterrupted sweep. Stray temporary files are ignored when
reading and removed when a sweep opens the store.

Every part file is checked against its run's check file when it is read: by
a resumed sweep (a part that fails is run again with its run) and by
:func:`load_results` (a part that fails is named, in one line: an error by
default, or left out with a warning, ``bad="skip"``). A store written before
check files (no ``store_version`` in its manifest) still loads, with one
warning that its runs are unverified; a part of it that cannot be read is
named like a bad one.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import io
import json
import math
import os
import shlex
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import StoreError, StoreWarning
from ..files import (cell, encode_csv, is_temporary, pandas_options, parse_csv, read_json_object, write_bytes,
                     write_json)
from ..table import Table

MANIFEST = "manifest.json"
RUNS = "runs"
CHECKS = "checks"
TABLES = ("episodes", "monthly", "yearly")
FORMATS = ("csv", "parquet")
KEY_COLUMNS = ("point", "regime", "replication")
#: always read as text, whatever they look like
TEXT_COLUMNS = ("point", "regime", "error")
#: the manifest's ``store_version`` of stores whose runs have check files
STORE_VERSION = 2
#: bad parts named in full in a message (the rest are counted)
SHOWN = 3


Key = tuple[str, str, int]


def part_name(key: Key, fmt: str = "csv") -> str:
    point, regime, rep = key
    return f"{point}_{regime}_{int(rep)}.{fmt}"


def parse_name(name: str) -> Optional[Key]:
    """``<point>_<regime>_<rep>.<ext>`` -> key, or None for other files."""
    if name.startswith("."):
        return None
    stem, dot, ext = name.rpartition(".")
    if not dot or ext not in FORMATS:
        return None
    point, _, rest = stem.partition("_")
    regime, _, rep = rest.rpartition("_")
    if not point or not regime or not rep.isdigit():
        return None
    return point, regime, int(rep)


class BadPart(Exception):
    """A part file that fails its check or cannot be read: ``str()`` is
    ``<table>/<file>: <what is wrong>``."""


def encode_part(columns: Mapping[str, Sequence[Any]], fmt: str = "csv") -> bytes:
    """A table (column -> values) as the bytes of a part file."""
    if fmt != "parquet":
        return encode_csv(columns)
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({k: _arrow_values(v) for k, v in columns.items()}), sink)
    return sink.getvalue().to_pybytes()


def write_part(path: Path, columns: Mapping[str, Sequence[Any]], fmt: str = "csv") -> Path:
    """A table (column -> values) as one part file, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bytes(path, encode_part(columns, fmt))


def part_check(data: bytes, rows: int) -> dict[str, Any]:
    """What a check file records of one part: SHA-256, size in bytes and rows."""
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "rows": int(rows)}


def _arrow_values(values: Sequence[Any]) -> list:
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    kinds = {type(v) for v in vals if v is not None}
    if kinds <= {int, float} and float in kinds:
        return [float(v) if v is not None else None for v in vals]
    if len(kinds) > 1 or kinds & {dict, list, tuple, dt.date}:
        return [cell(v) if v is not None else None for v in vals]
    return vals


# --------------------------------------------------------------------------- reading
def read_part(path: Path) -> Table:
    """One part file as a typed :class:`Table`."""
    path = Path(path)
    return decode_part(path.read_bytes(), "parquet" if path.suffix == ".parquet" else "csv")


def decode_part(data: bytes, fmt: str = "csv") -> Table:
    """The bytes of a part file as a typed :class:`Table` (raises on bytes that are not one)."""
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(data)).to_pydict()
        return Table({k: _typed(v) for k, v in table.items()})
    return Table(parse_csv(data.decode("utf-8"), TEXT_COLUMNS))


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    text = " ".join(str(exc).split())[:80]
    return f"not readable ({type(exc).__name__}{': ' + text if text else ''})"


def _typed(values: list) -> np.ndarray:
    """A parquet column (as Python values) as a numpy array."""
    if values and all(isinstance(v, str) or v is None for v in values):
        return np.array(["" if v is None else v for v in values], dtype=object)
    if values and all(isinstance(v, float) or v is None for v in values):
        return np.array([math.nan if v is None else v for v in values], dtype=float)
    return np.array(values)


def concat(tables: Sequence[Table]) -> Table:
    """Row-wise concatenation; a column missing from a table is filled with NaN."""
    tables = [t for t in tables if len(t.columns)]
    if not tables:
        return Table({})
    keys: list[str] = []
    for t in tables:
        keys += [k for k in t.columns if k not in keys]
    cols = {}
    for k in keys:
        parts = [t.columns[k] if k in t.columns else np.full(len(t), np.nan) for t in tables]
        if any(p.dtype == object for p in parts) and not all(p.dtype == object for p in parts):
            parts = [p.astype(object) for p in parts]
        cols[k] = np.concatenate(parts)
    return Table(cols)


# --------------------------------------------------------------------------- the store
class Store:
    """Part files under ``root``; see the module docstring."""

    def __init__(self, root: Path | str, fmt: str = "csv"):
        self.root = Path(root)
        self.fmt = fmt

    def folder(self, table: str = RUNS) -> Path:
        return self.root / table

    def path(self, key: Key, table: str = RUNS) -> Path:
        return self.folder(table) / part_name(key, self.fmt)

    def check_path(self, key: Key) -> Path:
        return self.folder(CHECKS) / part_name(key, "json")

    def name(self, path: Path) -> str:
        """``path`` relative to the store, as messages name it (``runs/x.csv``)."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def read_manifest(self) -> Optional[dict]:
        return read_json_object(self.manifest_path)

    def write_manifest(self, data: Mapping[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_json(self.manifest_path, data)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An advisory lock: one sweep writes to a store at a time (released
        by the OS if the process dies)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise StoreError(f"{self.root}: another sweep is writing to this folder") from None
            yield
        finally:
            os.close(fd)

    def clean_temporaries(self) -> int:
        """Remove temporary files left by a killed writer (call under the lock)."""
        n = 0
        for folder in [self.root] + [self.folder(t) for t in (RUNS, CHECKS, *TABLES)]:
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if is_temporary(entry.name):
                    try:
                        os.unlink(entry.path)
                        n += 1
                    except OSError:
                        pass
        return n

    def part_files(self, table: str = RUNS) -> dict[Key, Path]:
        """Finished part files of ``table`` by key (temporaries ignored)."""
        folder = self.folder(table)
        if not folder.is_dir():
            return {}
        out = {}
        for entry in os.scandir(folder):
            key = parse_name(entry.name)
            if key is not None:
                out[key] = Path(entry.path)
        return out

    # ----------------------------------------------------------------------- writing
    def write_run(self, key: Key, row: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]],
                  code: Optional[str] = None) -> None:
        """A finished run: its tables first, then its check file (checksum, size
        and rows of every part, the row's included; ``code``: the fingerprint id
        of the code that made it), its row last (the commit marker). A run
        written again is not done until its new row exists."""
        point, regime, rep = key
        self.path(key, RUNS).unlink(missing_ok=True)
        parts = {}
        for name in TABLES:
            if name not in tables:
                self.path(key, name).unlink(missing_ok=True)      # left by an earlier try of the run
        for name, columns in tables.items():
            n = len(next(iter(columns.values()))) if columns else 0
            full = {"point": [point] * n, "regime": [regime] * n, "replication": [int(rep)] * n}
            full.update({k: v for k, v in columns.items() if k not in full})
            data = encode_part(full, self.fmt)
            self.folder(name).mkdir(parents=True, exist_ok=True)
            write_bytes(self.path(key, name), data)
            parts[name] = part_check(data, n)
        row_data = encode_part({k: [v] for k, v in row.items()}, self.fmt)
        parts[RUNS] = part_check(row_data, 1)
        check = {"run": part_name(key, self.fmt), "format": self.fmt, "code": code, "parts": parts}
        self.folder(CHECKS).mkdir(parents=True, exist_ok=True)
        write_bytes(self.check_path(key), json.dumps(check, indent=1, sort_keys=True).encode("utf-8"))
        self.folder(RUNS).mkdir(parents=True, exist_ok=True)
        write_bytes(self.path(key, RUNS), row_data)

    def remove(self, keys: Iterable[Key]) -> int:
        """Delete the part files (and check files) of ``keys`` in every table."""
        keys = set(keys)
        n = 0
        for table in (RUNS, *TABLES):
            for key, path in self.part_files(table).items():
                if key in keys:
                    path.unlink(missing_ok=True)
                    n += 1
        for key in keys:
            self.check_path(key).unlink(missing_ok=True)
        return n

    # ----------------------------------------------------------------------- checked reading
    def read_check(self, key: Key) -> Optional[dict]:
        """The check file of a run, or None when it has none; BadPart when it is unreadable."""
        path = self.check_path(key)
        try:
            data = read_json_object(path)
        except StoreError:
            raise BadPart(f"{self.name(path)}: not a readable check file") from None
        if data is None:
            return None
        if not isinstance(data.get("parts"), dict):
            raise BadPart(f"{self.name(path)}: not a check file (no parts)")
        return data

    def part_data(self, key: Key, table: str, check: Optional[dict]) -> bytes:
        """The bytes of a part file after its check (none when ``check`` is
        None: an unverified store); BadPart naming the file otherwise."""
        path = self.path(key, table)
        name = self.name(path)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise BadPart(f"{name}: missing") from None
        except OSError as exc:
            raise BadPart(f"{name}: cannot be read ({exc.strerror or exc})") from None
        expect = None if check is None else check["parts"].get(table)
        if check is not None and expect is None:
            raise BadPart(f"{name}: not in its run's check file {self.name(self.check_path(key))}")
        if expect is None:
            if not data:
                raise BadPart(f"{name}: empty (0 bytes)")
            return data
        if len(data) != expect.get("bytes") or hashlib.sha256(data).hexdigest() != expect.get("sha256"):
            raise BadPart(f"{name}: {self._mismatch(data, expect)}")
        return data

    def _mismatch(self, data: bytes, expect: Mapping[str, Any]) -> str:
        """What is wrong with a part whose bytes are not those written."""
        if not data:
            return f"empty (0 bytes; {expect.get('bytes')} were written)"
        try:
            n = len(decode_part(data, self.fmt))
        except Exception as exc:  # noqa: BLE001 - any unreadable content is a finding, not a crash
            return f"checksum mismatch; {_unreadable(exc)}"
        if n != expect.get("rows"):
            return f"{n} rows, {expect.get('rows')} were written (checksum mismatch)"
        return "changed since it was written (checksum mismatch)"

    def decode(self, key: Key, table: str, data: bytes, check: Optional[dict]) -> Table:
        """Checked bytes as a Table; BadPart when they do not read as one, or
        not with the rows the check file records."""
        name = self.name(self.path(key, table))
        try:
            t = decode_part(data, self.fmt)
        except Exception as exc:  # noqa: BLE001 - an unreadable part is named, never a traceback
            raise BadPart(f"{name}: {_unreadable(exc)}") from None
        expect = None if check is None else check["parts"].get(table, {}).get("rows")
        if expect is not None and len(t) != expect:
            raise BadPart(f"{name}: {len(t)} rows, {expect} were written")
        return t

    def run_table(self, key: Key, check: Optional[dict]) -> Table:
        """A run's row (a one-row Table), checked: the row of ``key`` and no other."""
        t = self.decode(key, RUNS, self.part_data(key, RUNS, check), check)
        name = self.name(self.path(key, RUNS))
        if len(t) != 1:
            raise BadPart(f"{name}: {len(t)} rows, expected the 1 row of its run")
        row = next(t.rows())
        found = (str(row.get("point")), str(row.get("regime")), row.get("replication"))
        if found != (key[0], key[1], key[2]):
            raise BadPart(f"{name}: its row is not run {part_name(key, self.fmt)} (point {found[0]!r}, regime "
                          f"{found[1]!r}, replication {found[2]!r})")
        return t

    def check_of(self, key: Key, required: bool) -> Optional[dict]:
        """A run's check file; BadPart when it is missing and ``required``."""
        check = self.read_check(key)
        if check is None and required:
            raise BadPart(f"{self.name(self.path(key, RUNS))}: no check file ({self.name(self.check_path(key))})")
        return check

    def scan(self, outputs: Sequence[str]) -> tuple[dict[Key, dict[str, Any]], dict[Key, str]]:
        """What a resumed sweep may keep: the row of every run whose parts all
        pass their checks (its row, and for a run without error every table of
        ``outputs``), and a message per run that fails. A run whose check file
        has no entry for a table of ``outputs`` was made without it (the spec
        asked for it later): neither kept nor bad, it is simply run again."""
        rows: dict[Key, dict[str, Any]] = {}
        bad: dict[Key, str] = {}
        for key in self.part_files(RUNS):
            try:
                check = self.check_of(key, required=True)
                row = next(self.run_table(key, check).rows())
                if row.get("error"):
                    rows[key] = row
                    continue
                if any(t not in check["parts"] and not self.path(key, t).exists() for t in outputs):
                    continue
                for t in outputs:
                    self.part_data(key, t, check)
                rows[key] = row
            except BadPart as exc:
                bad[key] = str(exc)
        return rows, bad

    def run_codes(self) -> dict[str, Optional[str]]:
        """The fingerprint id of the code that made each run, by run file name
        (from the check files; None for a run without one)."""
        out = {}
        for key in sorted(self.part_files(RUNS)):
            try:
                check = self.read_check(key)
            except BadPart:
                check = None
            out[part_name(key, self.fmt)] = (check or {}).get("code")
        return out


def listing(problems: Sequence[str]) -> str:
    """The first :data:`SHOWN` problems, the rest counted: ``a; b; c; and 4 more``."""
    n = len(problems)
    return "; ".join(problems[:SHOWN]) + (f"; and {n - SHOWN} more" if n > SHOWN else "")


def damaged(path: Path, manifest: Mapping[str, Any], problems: Sequence[str], action: str) -> str:
    """One line naming the part files that fail their check and what to do."""
    n = len(problems)
    shown = listing(problems)
    them = "it" if n == 1 else "them"
    command = manifest.get("command")
    resume = shlex.join(command) if isinstance(command, list) and command else "the same sweep again"
    if action == "raise":
        tail = (f"run the sweep again to run {them} again ({resume}), or leave {them} out "
                f"(load_results(..., bad='skip'), caresim report --skip-bad)")
    else:
        tail = f"left out; run the sweep again to run {them} again ({resume})"
    return f"{path}: {n} run{'s' if n != 1 else ''} with part files that fail their check ({shown}); {tail}"


# --------------------------------------------------------------------------- loading
@dataclass
class Results:
    """The tables of a sweep. ``runs`` has one row per run; ``episodes``,
    ``monthly`` and ``yearly`` (None unless the sweep asked for them) one row
    per record with point, regime and replication columns. pandas DataFrames
    when pandas is installed, else :class:`sim.Table`. Rows are sorted by
    point (in design order), regime (in spec order) and replication.
    ``bad``: the runs left out because their part files fail their check
    (``bad="skip"``), as point, regime, replication and ``error`` (the message
    naming the file); ``unverified``: how many runs were loaded without a
    check file (a store written before check files)."""

    runs: Any
    episodes: Any
    monthly: Any
    yearly: Any
    manifest: dict
    path: Path
    failures: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)
    unverified: int = 0

    @property
    def points(self) -> list[dict]:
        """Design points: id and factor values (from the manifest)."""
        return [{"point": p["id"], **p["values"]} for p in self.manifest.get("points", [])]

    def config(self, point: str):
        """The resolved :class:`sim.Config` of a design point."""
        from ..config import validate

        for p in self.manifest.get("points", []):
            if p["id"] == point:
                return validate(p["config"])
        raise KeyError(point)

    def __repr__(self) -> str:
        n = len(self.runs)
        return (f"Results({self.path}: {n} runs, {len(self.failures)} failed, "
                f"tables: runs{''.join(', ' + t for t in TABLES if getattr(self, t) is not None)})")


def load_results(path: str | Path, as_pandas: Optional[bool] = None, bad: str = "raise") -> Results:
    """The tables of the sweep stored in ``path`` (see :class:`Results`).

    Only runs of the sweep's plan are included (design points and regimes of
    the manifest, replications below its count); tables only of runs whose
    row says they finished without error. Every part file read is checked
    against its run's check file (SHA-256, size, rows): a part that fails, is
    missing or cannot be read raises :class:`sim.StoreError` naming it in one
    line (``bad="raise"``), or with ``bad="skip"`` its run is left out of every
    table with one :class:`sim.errors.StoreWarning` naming it. A store written
    before check files loads with one warning that its runs are unverified.
    A folder that is not a sweep store (a ``caresim compare`` or ``run``
    folder, an experiment's folder of stores) raises a StoreError saying what
    it is and what to read instead.
    """
    if bad not in ("raise", "skip"):
        raise ValueError(f"bad: expected 'raise' or 'skip', got {bad!r}")
    path = Path(path)
    store = Store(path)
    manifest = store.read_manifest() if path.is_dir() else None
    if manifest is None or manifest.get("kind") != "caresim sweep":
        raise StoreError(not_a_store(path, manifest))
    store.fmt = manifest.get("format", "csv")
    order_p = {p["id"]: i for i, p in enumerate(manifest.get("points", []))}
    regimes = list(manifest.get("regimes", []))
    order_r = {r: i for i, r in enumerate(regimes)}
    limit = manifest.get("replications_per_point") or {}
    required = int(manifest.get("store_version") or 0) >= STORE_VERSION

    def planned(key: Key) -> bool:
        p, r, k = key
        if p not in order_p or r not in order_r:
            return False
        n = limit.get(p)
        return n is None or k < n

    def sort_key(key: Key):
        return order_p[key[0]], order_r[key[1]], key[2]

    use_pandas = _has_pandas() if as_pandas is None else as_pandas
    outputs = [t for t in TABLES if t in manifest.get("outputs", [])]
    keys = sorted((k for k in store.part_files(RUNS) if planned(k)), key=sort_key)
    runs_of: dict[Key, Table] = {}
    parts: dict[str, dict[Key, Any]] = {t: {} for t in outputs}
    problems: dict[Key, str] = {}
    unverified = 0
    for key in keys:
        try:
            check = store.check_of(key, required)
            run = store.run_table(key, check)
            mine = {}
            if not run.columns.get("error", [""])[0]:
                for t in outputs:
                    mine[t] = _read_table(store, key, t, check, use_pandas)
        except BadPart as exc:
            problems[key] = str(exc)
            continue
        runs_of[key] = run
        for t, part in mine.items():
            parts[t][key] = part
        unverified += check is None
    if problems:
        message = damaged(path, manifest, list(problems.values()), bad)
        if bad == "raise":
            raise StoreError(message)
        warnings.warn(message, StoreWarning, stacklevel=2)
    if unverified:
        warnings.warn(f"{path}: written before part files had checksums (no {CHECKS}/ entries); {unverified} "
                      f"run{'s' if unverified != 1 else ''} loaded unverified", StoreWarning, stacklevel=2)
    if manifest.get("other_code"):
        warnings.warn(f"{path}: its runs were made by {1 + len(manifest['other_code'])} versions of the code "
                      "(manifest.json: code, other_code; run_code says which made each run)", StoreWarning,
                      stacklevel=2)
    keys = [k for k in keys if k in runs_of]
    runs = concat([runs_of[k] for k in keys])
    failures = []
    for key in keys:
        err = str(runs_of[key].columns["error"][0]) if "error" in runs_of[key].columns else ""
        if err:
            failures.append({"point": key[0], "regime": key[1], "replication": key[2], "error": err})
    tables = {name: (_join([parts[name][k] for k in keys if k in parts[name]], use_pandas)
                     if name in outputs else None) for name in TABLES}
    if use_pandas:
        runs = runs.to_pandas() if len(runs.columns) else _empty_frame()
    return Results(runs=runs, episodes=tables["episodes"], monthly=tables["monthly"], yearly=tables["yearly"],
                   manifest=manifest, path=path, failures=failures, unverified=unverified,
                   bad=[{"point": k[0], "regime": k[1], "replication": k[2], "error": m} for k, m in problems.items()])


def _read_table(store: Store, key: Key, table: str, check: Optional[dict], use_pandas: bool):
    """One checked table part: a DataFrame (pandas reads CSV much faster) or a Table."""
    data = store.part_data(key, table, check)
    if not (use_pandas and store.fmt == "csv"):
        return store.decode(key, table, data, check)
    import pandas as pd

    try:
        frame = pd.read_csv(io.BytesIO(data), **pandas_options(TEXT_COLUMNS))
    except Exception as exc:  # noqa: BLE001 - an unreadable part is named, never a traceback
        raise BadPart(f"{store.name(store.path(key, table))}: {_unreadable(exc)}") from None
    expect = None if check is None else check["parts"][table].get("rows")
    if expect is not None and len(frame) != expect:
        raise BadPart(f"{store.name(store.path(key, table))}: {len(frame)} rows, {expect} were written")
    return frame


def _join(parts: list, use_pandas: bool):
    """Table parts (DataFrames or Tables) as one table of the kind asked for."""
    if use_pandas and parts and not isinstance(parts[0], Table):
        import pandas as pd

        from ..files import with_dates     # date columns as datetime64

        return with_dates(pd.concat(parts, ignore_index=True))
    table = concat(parts)
    if use_pandas:
        return table.to_pandas() if len(table.columns) else _empty_frame()
    return table


def not_a_store(path: Path, manifest: Optional[Mapping[str, Any]]) -> str:
    """One line saying what a folder that is not a sweep store is, and what to read instead."""
    if not path.is_dir():
        return f"{path}: no such results folder" if not path.exists() else f"{path}: not a folder"
    sub = (manifest or {}).get("subcommand")
    if sub == "compare":
        return (f"{path} is the output of `caresim compare`, not a sweep store: read its comparison.csv and runs.csv "
                f"(and yearly.csv, monthly.csv, episodes.csv) with pandas.read_csv, or draw it with "
                f"`caresim report {path}`")
    if sub == "run":
        return (f"{path} is the output of `caresim run` (one run), not a sweep store: read its summary.csv, "
                "episodes.csv, monthly.csv and yearly.csv with pandas.read_csv")
    if manifest is not None:
        return f"{path}: its {MANIFEST} is not a sweep's (kind {manifest.get('kind')!r}); not a sweep store"
    stores = [d for d in result_folders(path) if _is_sweep_store(path / d)]
    if stores:
        listed = ", ".join(f"{d}/" for d in stores)
        return (f"{path} is not a sweep store but holds {len(stores)}: {listed}; load one of them "
                f"(sim.load_results('{path / stores[0]}'))")
    tables = sorted(f.name for f in path.glob("*.csv"))
    if tables:
        return (f"{path}: no {MANIFEST}, so not a sweep store; it holds {', '.join(tables[:5])}"
                f"{', ...' if len(tables) > 5 else ''}: read them with pandas.read_csv")
    return f"{path}: no {MANIFEST}; not a sweep's results folder"


def result_folders(path: Path) -> list[str]:
    """The subfolders of ``path`` that hold results: sweep stores, and the
    folders of ``caresim compare`` and ``caresim run`` (an experiment writes
    several), by name."""
    return sorted(d.name for d in path.iterdir() if d.is_dir() and (
        (d / RUNS).is_dir() or any((d / f).exists() for f in ("runs.csv", "comparison.csv", "summary.csv"))))


def _is_sweep_store(folder: Path) -> bool:
    try:
        return Store(folder).read_manifest().get("kind") == "caresim sweep"
    except (StoreError, AttributeError, OSError):
        return False


def _empty_frame():
    import pandas as pd

    return pd.DataFrame()


def _has_pandas() -> bool:
    return importlib.util.find_spec("pandas") is not None
