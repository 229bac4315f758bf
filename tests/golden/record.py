"""Golden tables for the package restructure: every table the project writes,
made through the command line on fixed seeds, reduced to one checksum per file.

Cells are normalised before hashing (booleans as 0/1, floats by repr, empty and
NaN alike) so that unifying the CSV cell convention does not count as a change
of results, while any changed value does.

    python tests/golden/record.py OUT_DIR > tests/golden/golden.json
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CFG = str(ROOT / "configs" / "achterhoek.yaml")
SHORT = ["--set", "timeline.end=2024-07-01"]


def _norm(cell: str) -> str:
    low = cell.strip().lower()
    if low in ("true", "false"):
        return "1" if low == "true" else "0"
    if low in ("", "nan", "none"):
        return "nan"
    try:
        x = float(cell)
    except ValueError:
        return cell
    if math.isnan(x):
        return "nan"
    return repr(float(x))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    drop = {i for i, name in enumerate(header) if name in ("wall_seconds",)}
    h.update("\x1f".join(n for i, n in enumerate(header) if i not in drop).encode())
    for r in body:
        h.update(b"\n" + "\x1f".join(_norm(c) for i, c in enumerate(r) if i not in drop).encode())
    return f"{len(body)}:{h.hexdigest()[:20]}"


def record(out: Path) -> dict[str, str]:
    from sim.cli import main

    out.mkdir(parents=True, exist_ok=True)
    jobs = {
        "run_product": ["run", CFG, "--regime", "product", "--seed", "3", *SHORT],
        "run_expertise": ["run", CFG, "--regime", "expertise", "--seed", "3"],
        "compare": ["compare", CFG, "--reps", "2", "--seed", "1", *SHORT],
        "sweep": ["sweep", str(ROOT / "configs" / "sweeps" / "smoke.yaml"), "--executor", "serial",
                  "--no-progress"],
    }
    for name, argv in jobs.items():
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = main([*argv, "--out", str(out / name)])
        if rc != 0:
            raise SystemExit(f"{name}: exit {rc}")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["report", str(out / "sweep")])
    return {str(p.relative_to(out)): digest(p) for p in sorted(out.rglob("*.csv"))}


if __name__ == "__main__":
    print(json.dumps(record(Path(sys.argv[1])), indent=1, sort_keys=True))
