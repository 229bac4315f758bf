"""An append-safe result store for sweeps, and ``load_results``.

Layout of a store ``DIR``::

    DIR/manifest.json                       spec, resolved configs, versions, git commit
    DIR/runs/<point>_<regime>_<rep>.csv     one row per run (the run's commit marker)
    DIR/episodes/<point>_<regime>_<rep>.csv when the spec asks for episodes
    DIR/monthly/...  DIR/yearly/...         likewise

(``.parquet`` instead of ``.csv`` for a store made with ``format="parquet"``.)
Every file is written to a hidden temporary name in its own folder, flushed
to disk and renamed over its final name (``os.replace``), so a reader or a
resumed sweep sees a part file whole or not at all. A run's tables are
written before its row: a run counts as done only once its row exists, so a
sweep killed at any moment (even SIGKILL) and run again ends with exactly
the rows of an uninterrupted sweep. Stray temporary files are ignored when
reading and removed when a sweep opens the store.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from ..errors import StoreError
from ..files import atomic_path, cell, is_temporary, pandas_options, write_csv, write_json
from ..table import Table

MANIFEST = "manifest.json"
RUNS = "runs"
TABLES = ("episodes", "monthly", "yearly")
FORMATS = ("csv", "parquet")
KEY_COLUMNS = ("point", "regime", "replication")
#: always read as text, whatever they look like
TEXT_COLUMNS = ("point", "regime", "error")


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


def write_part(path: Path, columns: Mapping[str, Sequence[Any]], fmt: str = "csv") -> Path:
    """A table (column -> values) as one part file, atomically."""
    if fmt != "parquet":
        return write_csv(path, columns)
    import pyarrow as pa
    import pyarrow.parquet as pq

    with atomic_path(path) as tmp:
        pq.write_table(pa.table({k: _arrow_values(v) for k, v in columns.items()}), tmp)
    return path


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
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        data = pq.read_table(path).to_pydict()
        return Table({k: _typed(v) for k, v in data.items()})
    return Table.read_csv(path, TEXT_COLUMNS)


def _typed(values: list) -> np.ndarray:
    """A parquet column (as Python values) as a numpy array."""
    if values and all(isinstance(v, str) or v is None for v in values):
        return np.array(["" if v is None else v for v in values], dtype=object)
    if values and all(isinstance(v, float) or v is None for v in values):
        return np.array([math.nan if v is None else v for v in values], dtype=float)
    return np.array(values)


def run_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of one run part file (normally one)."""
    return list(read_part(path).rows())


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

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def read_manifest(self) -> Optional[dict]:
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"{self.manifest_path}: not valid JSON ({exc.msg})") from None

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
        for folder in [self.root] + [self.folder(t) for t in (RUNS, *TABLES)]:
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

    def read_runs(self) -> dict[Key, dict[str, Any]]:
        """Every run row on disk by key."""
        out = {}
        for key, path in self.part_files(RUNS).items():
            for row in run_rows(path):
                out[key] = row
        return out

    def write_run(self, key: Key, row: Mapping[str, Any], tables: Mapping[str, Mapping[str, Any]]) -> None:
        """A finished run: its tables first, its row last (the commit marker)."""
        point, regime, rep = key
        for name, columns in tables.items():
            self.folder(name).mkdir(parents=True, exist_ok=True)
            n = len(next(iter(columns.values()))) if columns else 0
            full = {"point": [point] * n, "regime": [regime] * n, "replication": [int(rep)] * n}
            full.update({k: v for k, v in columns.items() if k not in full})
            write_part(self.path(key, name), full, self.fmt)
        self.folder(RUNS).mkdir(parents=True, exist_ok=True)
        write_part(self.path(key, RUNS), {k: [v] for k, v in row.items()}, self.fmt)

    def remove(self, keys: Iterable[Key]) -> int:
        """Delete the part files of ``keys`` in every table."""
        keys = set(keys)
        n = 0
        for table in (RUNS, *TABLES):
            for key, path in self.part_files(table).items():
                if key in keys:
                    path.unlink(missing_ok=True)
                    n += 1
        return n


# --------------------------------------------------------------------------- loading
@dataclass
class Results:
    """The tables of a sweep. ``runs`` has one row per run; ``episodes``,
    ``monthly`` and ``yearly`` (None unless the sweep asked for them) one row
    per record with point, regime and replication columns. pandas DataFrames
    when pandas is installed, else :class:`sim.Table`. Rows are sorted by
    point (in design order), regime (in spec order) and replication."""

    runs: Any
    episodes: Any
    monthly: Any
    yearly: Any
    manifest: dict
    path: Path
    failures: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

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


def load_results(path: str | Path, as_pandas: Optional[bool] = None) -> Results:
    """The tables of the sweep stored in ``path`` (see :class:`Results`).

    Only runs of the sweep's plan are included (design points and regimes of
    the manifest, replications below its count); tables only of runs whose
    row says they finished without error.
    """
    path = Path(path)
    store = Store(path)
    manifest = store.read_manifest()
    if manifest is None:
        raise StoreError(f"{path}: no {MANIFEST}; not a sweep's results folder")
    store.fmt = manifest.get("format", "csv")
    order_p = {p["id"]: i for i, p in enumerate(manifest.get("points", []))}
    regimes = list(manifest.get("regimes", []))
    order_r = {r: i for i, r in enumerate(regimes)}
    limit = manifest.get("replications_per_point") or {}

    def planned(key: Key) -> bool:
        p, r, k = key
        if p not in order_p or r not in order_r:
            return False
        n = limit.get(p)
        return n is None or k < n

    def sort_key(key: Key):
        return order_p[key[0]], order_r[key[1]], key[2]

    keys = sorted((k for k in store.part_files(RUNS) if planned(k)), key=sort_key)
    run_tables = [read_part(store.path(k)) for k in keys]
    runs = concat(run_tables)
    ok = set()
    failures = []
    for key, t in zip(keys, run_tables):
        err = str(t.columns.get("error", [""])[0]) if "error" in t.columns else ""
        if err:
            failures.append({"point": key[0], "regime": key[1], "replication": key[2], "error": err})
        else:
            ok.add(key)
    use_pandas = _has_pandas() if as_pandas is None else as_pandas
    outputs = manifest.get("outputs", [])
    tables = {}
    for name in TABLES:
        if name not in outputs:
            tables[name] = None
            continue
        files = store.part_files(name)
        present = [k for k in keys if k in ok and k in files]
        tables[name] = _load_table([files[k] for k in present], use_pandas)
    if use_pandas:
        runs = runs.to_pandas() if len(runs.columns) else _empty_frame()
    return Results(runs=runs, episodes=tables["episodes"], monthly=tables["monthly"], yearly=tables["yearly"],
                   manifest=manifest, path=path, failures=failures)


def _load_table(paths: list[Path], use_pandas: bool):
    if use_pandas and paths and paths[0].suffix == ".csv":
        import pandas as pd

        from ..files import with_dates     # date columns as datetime64

        opts = pandas_options(TEXT_COLUMNS)
        frames = [pd.read_csv(p, **opts) for p in paths]
        return with_dates(pd.concat(frames, ignore_index=True)) if frames else _empty_frame()
    table = concat([read_part(p) for p in paths])
    if use_pandas:
        return table.to_pandas() if len(table.columns) else _empty_frame()
    return table


def _empty_frame():
    import pandas as pd

    return pd.DataFrame()


def _has_pandas() -> bool:
    return importlib.util.find_spec("pandas") is not None
