"""The ``caresim`` command line (also ``python -m sim``).

    caresim run CONFIG --regime R [--seed S] [--out DIR] [--set a.b=value ...]
    caresim compare CONFIG [--reps N] [--seed S] [--out DIR] [--workers N] [--set ...]
    caresim check CONFIG [--set ...]
    caresim sweep SPEC --out DIR [--workers N] [--executor serial|process|dask] [--scheduler ADDR|local]
                  [--reps N] [--format csv|parquet|auto] [--force] [--allow-other-code] [--no-progress]
    caresim report DIR [--svg] [--skip-bad]
    caresim preload CONFIG --out FILE [--years N] [--seed S] [--set ...]
    caresim init DIR [--force]
    caresim schema

A user error (bad config, bad argument, unreadable file) prints one line,
``caresim: error: <message>``, and exits with status 2. A sweep stopped by
Ctrl-C exits 130, by SIGTERM 143, with one line saying how to resume it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .errors import ConfigError, did_you_mean
from .regimes import REGIMES, STATUS_QUO

PROG = "caresim"


class UsageError(Exception):
    """A user error found by the command line itself: one-line message."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {_one_line(message)} (see '{self.prog} --help')\n")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _os_error(exc: OSError) -> str:
    """``path: reason`` of an operating-system error, in one line."""
    if exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return _one_line(f"{where}{exc.strerror}")
    return _one_line(exc)


# --------------------------------------------------------------------------- argument types
def _override(text: str) -> tuple[str, str]:
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. demand.growth_per_year=0.02), got {text!r}")
    if any(not part for part in key.split(".")):
        raise argparse.ArgumentTypeError(f"bad key path {key!r} in {text!r}")
    return key, value


#: the most worker processes a command starts (more would only exhaust the machine)
MAX_WORKERS = 1024
#: the most calendar years ``caresim preload`` simulates
MAX_YEARS = 1000


def positive_int(text: str, maximum: Optional[int] = None) -> int:
    """argparse type: an integer above 0 (and at most ``maximum``; scripts reuse it)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    if maximum is not None and n > maximum:
        raise argparse.ArgumentTypeError(f"expected a positive integer of at most {maximum:,}, got {text!r}")
    return n


def at_most(maximum: int):
    """argparse type: a positive integer of at most ``maximum`` (absurd counts are refused,
    not started)."""
    def parse(text: str) -> int:
        return positive_int(text, maximum)
    return parse


def replications(text: str) -> int:
    """argparse type of ``--reps``."""
    from .experiment.spec import MAX_REPLICATIONS

    return positive_int(text, MAX_REPLICATIONS)


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx|inproc)://)?[A-Za-z0-9_.\-\[\]:]+:\d{1,5}$")


def _scheduler(text: str) -> str:
    """argparse type of ``--scheduler``: ``local`` or a Dask address ``[proto://]host:port``."""
    text = text.strip()
    if text == "local" or _ADDRESS.match(text):
        port = text.rsplit(":", 1)[-1]
        if text == "local" or 0 < int(port) < 65536:
            return text
    raise argparse.ArgumentTypeError(f"expected 'local' or a Dask scheduler address such as tcp://host:8786, "
                                     f"got {text!r}")


def workers(text: str) -> int:
    """argparse type of ``--workers``."""
    return positive_int(text, MAX_WORKERS)


def seed(text: str) -> int:
    """argparse type of ``--seed``: a non-negative integer (scripts reuse it)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return n


# --------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog=PROG,
        description="Discrete-event simulation of youth care under a product-based "
        "and an expertise-based contract regime.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    config = _Parser(add_help=False)
    config.add_argument("config", metavar="CONFIG",
                        help="YAML configuration: a file, e.g. configs/achterhoek.yaml, or the name of a bundled "
                        "config, e.g. achterhoek (caresim init copies them out)")
    config.add_argument(
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        type=_override,
        action="append",
        default=[],
        help="override a config value by its dotted key path, e.g. --set demand.growth_per_year=0.02 "
        "(VALUE is read as YAML; repeatable)",
    )

    p = sub.add_parser("run", parents=[config], help="one run of one regime",
                       description="Run one regime once and print its summary.")
    p.add_argument("--regime", required=True, metavar="R",
                   help=f"regime after the contract start: {' or '.join(REGIMES)} "
                   f"({STATUS_QUO} = the status quo continues)")
    p.add_argument("--seed", type=seed, default=1, help="random seed (default 1)")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="write summary.csv, episodes.csv, monthly.csv, yearly.csv and manifest.json here")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("compare", parents=[config], help="both regimes side by side over replications",
                       description="Run both regimes on common random numbers over replications and "
                       "print each metric's mean with its 95% CI and the paired difference.")
    p.add_argument("--reps", type=replications, default=10, metavar="N", help="replications (default 10)")
    p.add_argument("--seed", type=seed, default=1, help="master seed (default 1)")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="write comparison.csv, runs.csv, yearly.csv, trends.csv, time_to_care.csv, monthly.csv, "
                   "episodes.csv and manifest.json here")
    p.add_argument("--episodes-per-run", type=seed, default=None, metavar="N",
                   help="episode records of each run written to episodes.csv for the report's figures, evenly "
                   "spaced (default: sim.experiment.compare.EPISODES_PER_RUN, 2000; 0: none)")
    p.add_argument("--all-episodes", action="store_true", help="write every episode record (large files)")
    p.add_argument("--workers", type=workers, default=None, metavar="N",
                   help="parallel worker processes (default: one per core; results do not depend on it)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (or lines, when not on a terminal)")
    p.add_argument("--warm-up-cache", metavar="DIR", type=Path, default=None,
                   help="keep each replication's paused warm-up here and reuse it (the same base config, seed and code start at the switch; files of about 15 MB)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("check", parents=[config], help="validate a config and summarise it",
                       description="Validate a config and print a short summary of the region and both regimes.")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("sweep", help="run (or resume) a sweep: design points x regimes x replications",
                       description="Run a sweep spec (configs/sweeps/*.yaml) into DIR, writing each run as it "
                       "finishes; the same command again resumes it, skipping finished runs and retrying failed "
                       "ones and runs whose files fail their check. Exits 1 if any run failed, 130 on Ctrl-C, "
                       "143 on SIGTERM (finished runs are kept).")
    p.add_argument("spec", metavar="SPEC", help="sweep spec YAML, e.g. configs/sweeps/example.yaml, or the name "
                   "of a bundled spec, e.g. example")
    p.add_argument("--out", metavar="DIR", type=Path, required=True,
                   help="results folder: manifest.json, runs/ (one file per run), episodes/, monthly/ when asked")
    p.add_argument("--executor", choices=("serial", "process", "dask"), default=None,
                   help="where runs execute (default process; dask when --scheduler is given)")
    p.add_argument("--workers", type=workers, default=None, metavar="N",
                   help="worker processes (default: one per core); with --scheduler local, Dask workers")
    p.add_argument("--scheduler", metavar="ADDR", default=None, type=_scheduler,
                   help="Dask scheduler address (e.g. tcp://host:8786), or 'local' to start a LocalCluster")
    p.add_argument("--reps", type=replications, default=None, metavar="N",
                   help="replications per design point, overriding the spec (for a quick look)")
    p.add_argument("--warm-up-cache", metavar="DIR", type=Path, default=None,
                   help="keep each replication's paused warm-up here and reuse it (the same base config, seed and code start at the switch; files of about 15 MB)")
    p.add_argument("--format", choices=("csv", "parquet", "auto"), default=None,
                   help="part file format of a new results folder (default csv; auto: parquet if pyarrow "
                   "is installed)")
    p.add_argument("--force", action="store_true",
                   help="reuse a results folder made by a different spec, deleting the runs that no longer apply "
                   "(or by a caresim without part checksums, running its runs again)")
    p.add_argument("--allow-other-code", action="store_true",
                   help="resume a results folder whose runs were made by other code (another version or changed "
                   "source); the manifest then records which code made each run")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (or lines, when not on a terminal)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="write an HTML report of a results folder",
                       description="Read a results folder (from `caresim sweep` or `caresim compare --out`) and "
                       "write DIR/report/index.html with tables and figures, readable offline.")
    p.add_argument("results", metavar="DIR", type=Path, help="results folder")
    p.add_argument("--svg", action="store_true", help="also write the figures as SVG")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out the runs of a sweep store whose part files fail their check (named in a warning) "
                   "instead of stopping")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("warmup", parents=[config], help="MSER-5 check of the warm-up length",
                       description="Run the status quo over replications and report, per monthly series, "
                       "the MSER-5 truncation point next to the config's warm-up.")
    p.add_argument("--reps", type=replications, default=5, metavar="N", help="replications (default 5)")
    p.add_argument("--seed", type=seed, default=1, help="master seed (default 1)")
    p.add_argument("--workers", type=workers, default=1, metavar="N", help="parallel processes")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (or lines, when not on a terminal)")
    p.set_defaults(func=cmd_warmup)

    p = sub.add_parser("params", help="list every parameter with its unit and source",
                       description="Print every parameter of a config with its value, unit and the source "
                       "stated in the YAML comment (S sourced, D derived, E estimate).")
    p.add_argument("config", metavar="CONFIG", help="YAML config file")
    p.add_argument("--markdown", action="store_true", help="a Markdown table (as in docs/model.md)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("preload", parents=[config], help="write a snapshot of the status quo for timeline.preload",
                       description="Run the status quo from an empty start for N years (no contract start, no "
                       "growth) and write the youths in the system at the end, one row each, to FILE (CSV) with "
                       "its provenance in FILE.json. A config with timeline.initial_state: preloaded and "
                       "timeline.preload: FILE then starts from a resample of them, so its warm-up can be short.")
    p.add_argument("--out", metavar="FILE", type=Path, required=True, help="the snapshot CSV to write")
    p.add_argument("--years", type=at_most(MAX_YEARS), default=30, metavar="N",
                   help="years the status quo runs before the snapshot (default 30); the snapshot falls on the "
                   "config's start date N years on, so its season matches day 0")
    p.add_argument("--seed", type=seed, default=1, help="random seed (default 1)")
    p.set_defaults(func=cmd_preload)

    p = sub.add_parser("init", help="copy the bundled configs and sweep specs into a folder for editing",
                       description="Copy the configs, the preloaded snapshot and the sweep specs that ship with "
                       "caresim into DIR (created if missing), keeping their folders, so they can be edited and "
                       "run from there; the copies refer to each other by relative paths as the originals do.")
    p.add_argument("dir", metavar="DIR", type=Path, help="the folder to copy into (new or empty)")
    p.add_argument("--force", action="store_true",
                   help="copy into a non-empty folder, overwriting files of the same name")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("schema", help="print the config's JSON Schema",
                       description="Print the JSON Schema of the configuration (for editor completion).")
    p.set_defaults(func=cmd_schema)
    return parser


# --------------------------------------------------------------------------- helpers
def _overrides(args: argparse.Namespace) -> dict[str, str]:
    return dict(args.overrides)


def _load(args: argparse.Namespace):
    from .config import load_config

    cfg = load_config(args.config, overrides=_overrides(args))
    if cfg.timeline.initial_state == "preloaded":     # refuse a bad snapshot file before any run
        from .model.initial import read_snapshot

        read_snapshot(cfg)
    return cfg


def _prepare_out(out: Optional[Path]) -> None:
    if out is None:
        return
    from .present.output import prepare_dir

    try:
        prepare_dir(out)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _wrote(paths: Sequence[Path]) -> None:
    if paths:
        folder = paths[0].parent
        names = ", ".join(p.name for p in paths)
        print(f"wrote {folder}/{{{names}}}", file=sys.stderr)


# --------------------------------------------------------------------------- commands
def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import sim

    from .present import output, tables

    if args.regime not in REGIMES:
        raise UsageError(f"--regime: unknown regime {args.regime!r}, expected one of {list(REGIMES)}"
                         f"{did_you_mean(args.regime, REGIMES)}")
    cfg = _load(args)
    _prepare_out(args.out)
    res = sim.run(cfg, regime=args.regime, seed=args.seed)
    print(
        f"{cfg.region.name}: regime {res.regime}, seed {res.seed}; contract start "
        f"{cfg.timeline.contract_start}, horizon to {cfg.timeline.end}; "
        f"{int(res.events):,} events in {float(res.wall_seconds):.1f} s"
    )
    print(tables.format_summary(res.summary))
    if args.out is not None:
        paths = output.write_run(args.out, res, cfg, argv, args.config, _overrides(args))
        _wrote(paths)
    return 0


def cmd_compare(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import sim
    from .experiment.compare import EPISODES_PER_RUN

    from .present import output, tables

    cfg = _load(args)
    _prepare_out(args.out)
    progress = not args.no_progress    # a bar on a terminal, else a line every few replications
    if args.workers is None:
        args.workers = min(os.cpu_count() or 1, 2 * args.reps)
    cmp = sim.compare(cfg, replications=args.reps, seed=args.seed, workers=args.workers, progress=progress,
                      warm_up_cache=args.warm_up_cache,
                      episodes_per_run=None if args.all_episodes else
                      EPISODES_PER_RUN if args.episodes_per_run is None else args.episodes_per_run)
    tl = cfg.timeline
    print(
        f"{cfg.region.name}: {cmp.replications} paired replication{'s' if cmp.replications != 1 else ''} "
        f"(seed {cmp.seed}), "
        f"evaluation horizon {tl.contract_start} to {tl.end} ({tl.horizon_years:.1f} years); "
        f"95% CIs, difference = {cmp.regimes[-1]} - {cmp.regimes[0]} (paired t)"
    )
    print(tables.format_comparison(cmp.table))
    note = tables.who_counts(str(m) for m in cmp.table["metric"])
    if note:
        print(note)
    for line in tables.interval_notes(cmp.table):
        print(line)
    from .model.metrics import HEADLINE

    trends = tables.format_trends(cmp.trends, HEADLINE)
    if trends:
        print()
        print("Headline metrics per contract year: mean over replications of the first and the last contract "
              "year; trend = least-squares slope per year, fitted per replication, 95% t-CI across replications")
        print(trends)
        for line in tables.interval_notes(cmp.trends, "replications", shown=HEADLINE, clipping=False):
            print(line)
        if "wait_total_mean_weeks" in HEADLINE:
            print("wait_total_mean_weeks counts open episodes with their time so far, so the late contract years "
                  "read low (the end of the run cuts them short); care_within_* allow for it (censoring).")
    if args.out is not None:
        paths = output.write_compare(args.out, cmp, cfg, argv, args.config, _overrides(args), args.workers)
        _wrote(paths)
    return 0


def product_count(cfg) -> int:
    """Number of products in the catalogue of the product regime."""
    from .model.world import product_grid

    return len(product_grid(cfg))


def check_text(cfg, path: str) -> str:
    from .config import MECHANISMS
    from .units import DAYS_PER_YEAR

    tl, region, demand = cfg.timeline, cfg.region, cfg.demand
    prod, ex = cfg.regimes.product, cfg.regimes.expertise
    warmup_years = tl.contract_start_day / DAYS_PER_YEAR
    coll = ex.collectives
    budget = ex.budget
    valve = budget.safety_valve
    ramp, beh = ex.collaboration_ramp, cfg.behaviour
    switches = cfg.mechanism
    mech = [f"M{i} {m} {'on' if getattr(switches, m) else 'off'}" for i, m in enumerate(MECHANISMS, 1)]
    rows = [
        ("region", f"{region.name}: {len(region.municipalities)} municipalities, "
                   f"youth population {sum(region.municipalities.values()):,}, "
                   f"first referrals {demand.first_referrals_per_year:,.0f}/year"),
        ("timeline", f"{tl.start} to {tl.end}: warm-up {warmup_years:.1f} years under the {STATUS_QUO} regime, "
                     f"contract start {tl.contract_start}, evaluation horizon {tl.horizon_years:.1f} years"),
        ("start", "empty" if tl.initial_state == "empty" else f"preloaded from {Path(str(tl.preload)).name}"),
        ("product", f"{cfg.providers.count} providers, {product_count(cfg)} products, "
                    f"admin overhead {prod.admin.overhead_share:.2f} of staff time"),
        ("expertise", f"{ex.contracted_providers} contracted providers for {ex.contract_years:g} years, "
                      f"admin overhead {ex.admin.overhead_share:.2f} of staff time"),
        ("budget", f"level {budget.level:.2f} x product-regime spending, population-based share "
                   f"{budget.population_share:.2f}, safety valve {'on' if valve.enabled else 'off'}"),
        ("collectives", f"{coll.auto_count} formed automatically from {coll.auto_share:.0%} of contracted "
                        f"providers, {len(coll.explicit)} explicit; "
                        + (f"maturing over {ramp.months_to_mature:g} months from the award {ramp.award}"
                           if ramp.months_to_mature > 0 else "mature at once")),
        ("behaviour", f"per unit: extension {beh.per_unit.extension:g}, heavier indication "
                      f"{beh.per_unit.heavier_indication:g}; lump sum: under-provision {beh.lump_sum.under_provision:g}, "
                      f"to another funder {beh.lump_sum.other_funder:g}, selection {ex.selection_strength:g}; "
                      f"need beyond the judged {demand.need_beyond_judged:g}"),
        ("mechanisms", ", ".join(mech[:4])),
        ("", ", ".join(mech[4:])),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{path}: valid"] + [f"{k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)


def cmd_check(args: argparse.Namespace, argv: Sequence[str]) -> int:
    cfg = _load(args)
    print(check_text(cfg, args.config))
    return 0


def cmd_sweep(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import time

    from .experiment.sweep import run_sweep

    executor = args.executor or ("dask" if args.scheduler else "process")
    if args.scheduler and executor != "dask":
        raise UsageError(f"--scheduler: only with --executor dask, not {executor}")
    progress = not args.no_progress    # a bar on a terminal, else a line every few runs
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(), _sigterm_interrupts():
            warnings.showwarning = _show_warning
            res = run_sweep(args.spec, args.out, executor=executor, workers=args.workers, scheduler=args.scheduler,
                            reps=args.reps, progress=progress, force=args.force, format=args.format,
                            command=["caresim", *argv], warm_up_cache=args.warm_up_cache,
                            allow_other_code=args.allow_other_code)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, args.out, argv)
    info = res.info
    reps = sorted(set(info["replications"].values()))
    reps_text = str(reps[0]) if len(reps) == 1 else f"{reps[0]}-{reps[-1]}"
    total, failed = info["total"], len(res.failures)
    n_points, n_regimes = info["points"], len(info["regimes"])
    print(
        f"sweep {res.manifest['spec'].get('name') or args.spec}: {n_points} design point"
        f"{'s' if n_points != 1 else ''} x {n_regimes} regime{'s' if n_regimes != 1 else ''}"
        f" x {reps_text} replication{'s' if reps != [1] else ''} = {total} runs; "
        f"{total - failed} ok, {failed} failed ({info['ran']} run now, {info['skipped']} already done) in "
        f"{time.perf_counter() - t0:.1f} s; results in {args.out} (sim.load_results)"
    )
    if res.failures:
        shown = 20
        values = {p["id"]: p["values"] for p in res.manifest.get("points", [])}
        for f in res.failures[:shown]:
            where = ", ".join(f"{k}={v}" for k, v in values.get(f["point"], {}).items())
            print(f"{PROG}: failed: point {f['point']}{f' ({where})' if where else ''} regime {f['regime']} "
                  f"replication {f['replication']}: {f['error']}", file=sys.stderr)
        if failed > shown:
            print(f"{PROG}: failed: ... and {failed - shown} more (the error column of {args.out}/runs)",
                  file=sys.stderr)
        print(f"{PROG}: error: {failed} of {total} runs failed; run the same command again to retry them",
              file=sys.stderr)
        return 1
    return 0


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {_one_line(message)}", file=sys.stderr)


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises :class:`sim.errors.Interrupted` (as Ctrl-C raises
    KeyboardInterrupt), so a terminated sweep stops the way an interrupted one does."""
    import signal
    import threading

    from .errors import Interrupted

    def stop(signum, frame):
        raise Interrupted(signum)

    if threading.current_thread() is not threading.main_thread():    # signals are the main thread's
        yield
        return
    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _interrupted(exc: BaseException, out: Path, argv: Sequence[str]) -> int:
    """One line: what stopped the sweep, what is kept, the command that resumes it; 128 + the signal."""
    import shlex
    import signal

    from .experiment.store import RUNS, Store

    signum = getattr(exc, "signum", signal.SIGINT)
    what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    n = len(Store(out).part_files(RUNS))
    print(f"{PROG}: interrupted ({what}); {n} finished run{'s' if n != 1 else ''} kept in {out}; resume with: "
          f"{shlex.join([PROG, *argv])}", file=sys.stderr)
    return 128 + int(signum)


def cmd_report(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .present.report import write_report

    if not args.results.is_dir():
        raise UsageError(f"{args.results}: no such results folder")
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        path = write_report(args.results, formats=("png", "svg") if args.svg else ("png",),
                            bad="skip" if args.skip_bad else "raise")
    print(f"wrote {path}")
    return 0


def cmd_warmup(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .experiment.warmup import warmup_report

    print(warmup_report(_load(args), args.reps, args.seed, workers=args.workers, progress=not args.no_progress))
    return 0


def cmd_params(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .config import load_config
    from .config.paramdoc import markdown, parameter_rows

    load_config(args.config)          # refuse an invalid config first (one line, status 2)
    rows = parameter_rows(args.config)
    if args.markdown:
        print(markdown(rows))
    else:
        width = max(len(r["parameter"]) for r in rows)
        for r in rows:
            print(f"{r['parameter']:{width}s}  {r['value']!s:30.30s}  {r['unit']:16s}  {r['source']}")
    return 0


def preload_config(path: str, overrides: dict, years: int):
    """The config of ``caresim preload``: ``path`` with ``overrides``, starting
    empty and running the status quo for ``years`` calendar years from its
    start (the contract start moved to the last day, so no growth applies)."""
    import datetime as dt

    from .config import apply_overrides, config_to_dict, read_yaml, validate
    from .units import add_years

    data = read_yaml(path)
    if overrides:
        data = apply_overrides(data or {}, overrides)
    data = data or {}
    if isinstance(data, dict) and isinstance(data.get("timeline"), dict):
        data["timeline"] = {**data["timeline"], "initial_state": "empty"}
        data["timeline"].pop("preload", None)
    base = validate(data)
    end = add_years(base.timeline.start, years)
    plain = config_to_dict(base)
    plain["timeline"].update(contract_start=str(end - dt.timedelta(days=1)), end=str(end))
    return validate(plain)


def cmd_preload(args: argparse.Namespace, argv: Sequence[str]) -> int:
    import shlex
    import time

    from .experiment.provenance import file_sha256, provenance
    from .experiment.spec import config_hash
    from .files import write_json
    from .model.initial import sidecar, state_counts, write_snapshot
    from .run import build_model

    cfg = preload_config(args.config, _overrides(args), args.years)
    tl = cfg.timeline
    t = time.perf_counter()
    m = build_model(cfg, STATUS_QUO, args.seed)
    m.run(close=False)
    cols = m.snapshot_state()
    n = len(cols["state"])
    if n == 0:
        raise UsageError(f"no youths in the system after {args.years} years; nothing to preload")
    try:
        path = write_snapshot(args.out, cols)
        counts = state_counts(cols["state"])
        write_json(sidecar(path), {
            "kind": "caresim preload",
            "command": shlex.join([PROG, *argv]),
            "argv": list(argv),
            "source_config": str(args.config),
            "config_sha": config_hash(cfg),
            "regime": STATUS_QUO,
            "seed": int(args.seed),
            "years": int(args.years),
            "snapshot_day": float(m.now),
            "snapshot_date": str(tl.end),
            "youths": n,
            "states": counts,
            "file": path.name,
            "file_sha256": file_sha256(path),
            **provenance(cfg),
        })
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write there ({exc.strerror or exc})") from None
    shown = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
    print(f"{cfg.region.name}: status quo from {tl.start} for {args.years} years (seed {args.seed}), "
          f"{time.perf_counter() - t:.1f} s; {n} youths in the system on {tl.end}: {shown}")
    _wrote([path, sidecar(path)])
    return 0


def cmd_init(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import bundled

    dest = args.dir.expanduser()
    try:
        paths = bundled.copy_to(dest, force=args.force)
    except OSError as exc:
        raise UsageError(f"{args.dir}: cannot write there ({exc.strerror or exc})") from None
    folders = sorted({p.parent.relative_to(dest).as_posix() for p in paths} - {"."})
    print(f"copied {len(paths)} files into {args.dir} (and its {', '.join(f + '/' for f in folders)}); "
          f"edit them and run e.g. caresim compare {dest / 'achterhoek.yaml'}")
    return 0


def cmd_schema(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return 0


# --------------------------------------------------------------------------- entry point
def _resolve_names(args: argparse.Namespace) -> None:
    """A CONFIG or SPEC argument that names a bundled file becomes its path
    (a ConfigError listing the bundled names when it is neither)."""
    from .bundled import resolve_config, resolve_spec
    from .errors import SweepError

    if getattr(args, "config", None) is not None:
        args.config = str(resolve_config(args.config))
    if getattr(args, "spec", None) is not None:
        args.spec = str(resolve_spec(args.spec, SweepError))


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        _resolve_names(args)
        return args.func(args, argv)
    except (ConfigError, UsageError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `caresim schema | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:   # a file the user named, a full disk, a scheduler that does not answer
        print(f"{PROG}: error: {_os_error(exc)}", file=sys.stderr)
        return 2

