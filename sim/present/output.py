"""Writing results to disk: CSV tables and a ``manifest.json`` that records
how they were made (presentation layer; the model never imports this module).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from ..config import Config
from ..experiment.provenance import manifest
from ..experiment.store import MANIFEST
from ..files import write_csv, write_json


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
        write_csv(out / "summary.csv", header=list(summary), rows=[list(summary.values())]),
        res.episodes.write_csv(out / "episodes.csv"),
        res.monthly.write_csv(out / "monthly.csv"),
        res.yearly.write_csv(out / "yearly.csv"),
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
    runs.csv (one row per replication and regime), yearly.csv (every metric
    per regime, replication and contract year), trends.csv (per metric and
    regime: first and last contract year and the slope per year, see
    ``sim.experiment.compare.trend_table``), time_to_care.csv (the cumulative
    incidence of care and of dropout per regime, replication and week from
    referral) with its figure time_to_care.png, monthly.csv (every run's
    months), episodes.csv (each run's episode records, thinned to
    ``cmp.episodes_per_run`` evenly spaced ones unless that is None) and
    manifest.json (which records the thinning)."""
    out = prepare_dir(out)
    paths = [
        cmp.table.write_csv(out / "comparison.csv"),
        cmp.runs.write_csv(out / "runs.csv"),
    ]
    for name, table in (("yearly", cmp.yearly), ("trends", cmp.trends), ("time_to_care", cmp.time_to_care),
                        ("monthly", cmp.monthly), ("episodes", cmp.episodes)):
        if table is not None and len(table):
            paths.append(table.write_csv(out / f"{name}.csv"))
    if cmp.time_to_care is not None and len(cmp.time_to_care):
        from . import figures

        figures.time_to_care(cmp.time_to_care, out / "time_to_care.png")
        paths.append(out / "time_to_care.png")
    info = manifest(
        cfg, argv, cmp.seeds, [p.name for p in paths],
        subcommand="compare", config_path=str(config_path), overrides=dict(overrides),
        seed=int(cmp.seed), replications=int(cmp.replications), workers=int(workers),
        regimes=list(cmp.regimes), confidence=0.95, episodes_per_run=cmp.episodes_per_run,
        difference=f"{cmp.regimes[-1]} - {cmp.regimes[0]}, paired t" if len(cmp.regimes) > 1 else None,
    )
    paths.append(write_json(out / MANIFEST, info))
    return paths
