"""Writing results to disk: CSV tables and a ``manifest.json`` that records
how they were made (presentation layer; the model never imports this module).
"""
from __future__ import annotations

import csv
import datetime as dt

import math
import platform
import shlex
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np

from ..config import Config
from ..experiment.provenance import manifest

MANIFEST = "manifest.json"


# --------------------------------------------------------------------------- files
def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """A manifest, written atomically (numpy scalars, dates and paths as JSON)."""
    from ..experiment.store import write_json_atomic
    return write_json_atomic(Path(path), data)


def _cell(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    return "" if value is None else str(value)


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A plain CSV file (full float precision)."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(v) for v in row])
    return path


def write_table(path: Path, table: Any) -> Path:
    """A ``sim.Table`` as CSV, through its own writer."""
    path = Path(path)
    table.write_csv(path)
    return path


def prepare_dir(out: Path) -> Path:
    """Create the output directory up front, so a bad ``--out`` fails before a
    long run rather than after it. Raises OSError."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(20, "not a directory", str(out))
    out.mkdir(parents=True, exist_ok=True)
    probe = out / ".caresim-write-test"
    probe.write_text("")
    probe.unlink()
    return out


def write_run(out: Path, res: Any, cfg: Config, argv: Sequence[str], config_path: str,
              overrides: Mapping[str, str]) -> list[Path]:
    """``caresim run`` results: summary.csv (one row), episodes.csv,
    monthly.csv, yearly.csv (per contract year) and manifest.json."""
    out = prepare_dir(out)
    head = {"regime": res.regime, "seed": int(res.seed), "wall_seconds": float(res.wall_seconds),
            "events": int(res.events)}
    summary = {**head, **{k: v for k, v in res.summary.items() if k not in head}}
    paths = [
        write_rows(out / "summary.csv", list(summary), [list(summary.values())]),
        write_table(out / "episodes.csv", res.episodes),
        write_table(out / "monthly.csv", res.monthly),
        write_table(out / "yearly.csv", res.yearly),
    ]
    info = manifest(
        cfg, argv, [res.seed], [p.name for p in paths],
        subcommand="run", config_path=str(config_path), overrides=dict(overrides),
        regime=res.regime, seed=int(res.seed),
        contract_start_day=float(res.contract_start_day),
        events=int(res.events), wall_seconds=float(res.wall_seconds),
    )
    paths.append(write_json(out / MANIFEST, info))
    return paths


def write_compare(out: Path, cmp: Any, cfg: Config, argv: Sequence[str], config_path: str,
                  overrides: Mapping[str, str], workers: int) -> list[Path]:
    """``caresim compare`` results: comparison.csv (one row per metric),
    runs.csv (one row per replication and regime) and manifest.json."""
    out = prepare_dir(out)
    paths = [
        write_table(out / "comparison.csv", cmp.table),
        write_table(out / "runs.csv", cmp.runs),
    ]
    info = manifest(
        cfg, argv, cmp.seeds, [p.name for p in paths],
        subcommand="compare", config_path=str(config_path), overrides=dict(overrides),
        seed=int(cmp.seed), replications=int(cmp.replications), workers=int(workers),
        confidence=0.95, difference="expertise - product, paired t",
    )
    paths.append(write_json(out / MANIFEST, info))
    return paths
