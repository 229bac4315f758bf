"""Speed and memory benchmark of the caresim core (a benchmark, not a timed test).

Prints, from one process:

(a) the default region (configs/achterhoek.yaml), one run per regime:
    wall seconds, SimPy events per second and youths (episodes) per second;
(b) the verification config (configs/verification/mmc.yaml, an M/M/c queue)
    under ``sim.run``, in customers (episodes) per second, against a plain
    idiomatic SimPy M/M/c written here with the same rates, the same c and
    the same simulated duration, and the ratio of the two;
(c) peak memory: the process's maximum resident set size and the tracemalloc
    peak of one default run.

Targets (issue 2): ratio >= 1.5, one default regime-replication in about
3 s on the 2-core reference machine, peak memory under 150 MiB.

    python benchmarks/bench_core.py                 # everything
    python benchmarks/bench_core.py --plain-only    # only the plain SimPy M/M/c
    python benchmarks/bench_core.py --skip-default --customers 200000
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.config import load_config  # noqa: E402
from sim.regimes import REGIMES  # noqa: E402
from sim.units import DAYS_PER_YEAR  # noqa: E402
from sim.analysis.queueing import mmc_mean_wait  # noqa: E402

DEFAULT_CONFIG = ROOT / "configs" / "achterhoek.yaml"
MMC_CONFIG = ROOT / "configs" / "verification" / "mmc.yaml"
LATEST_DATE = dt.date(9000, 1, 1)  # keeps the stretched timeline inside datetime.date

TARGET_RATIO = 1.5
TARGET_DEFAULT_SECONDS = 3.0
TARGET_PEAK_MIB = 150.0


# --------------------------------------------------------------------------- plain SimPy M/M/c
def plain_mmc(lam: float, mu: float, c: int, duration: float, seed: int, warmup: float = 0.0) -> dict:
    """A plain, idiomatic SimPy M/M/c queue run for ``duration`` time units.

    Returns the number of arrivals and the waits of the customers whose
    service started at or after ``warmup``.
    """
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    places = simpy.Resource(env, capacity=c)
    waits: list[float] = []
    arrivals = [0]

    def customer(env):
        arrived = env.now
        with places.request() as req:
            yield req
            if env.now >= warmup:
                waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(1 / mu))

    def source(env):
        while True:
            yield env.timeout(rng.exponential(1 / lam))
            arrivals[0] += 1
            env.process(customer(env))

    env.process(source(env))
    env.run(until=duration)
    return {"customers": arrivals[0], "waits": np.asarray(waits)}


# --------------------------------------------------------------------------- helpers
def mib(nbytes: float) -> float:
    return nbytes / 2**20


def maxrss_mib() -> float:
    """Peak resident set size of this process (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def mmc_parameters(cfg) -> tuple[float, float, int]:
    """(lam per day, mu per day, c) of the verification config."""
    lam = cfg.demand.first_referrals_per_year / DAYS_PER_YEAR
    mu = 1.0 / cfg.care_forms["service"].need_duration.mean()
    c = cfg.providers.total_staff_hours_per_week
    if not float(c).is_integer():
        raise SystemExit(f"providers.total_staff_hours_per_week must be a whole number of places, got {c}")
    return lam, mu, int(c)


def verification_config(customers: int):
    """The verification config with its evaluation horizon stretched so about
    ``customers`` referrals arrive; beyond what the calendar allows, the rates
    are scaled up instead (same utilisation, same c)."""
    base = load_config(MMC_CONFIG)
    lam, mu, _ = mmc_parameters(base)
    start = base.timeline.start
    days = max(customers / lam, base.timeline.contract_start_day + 30.0)
    max_days = float((LATEST_DATE - start).days)
    overrides: dict = {}
    if days > max_days:
        k = days / max_days
        days = max_days
        overrides["demand.first_referrals_per_year"] = base.demand.first_referrals_per_year * k
        overrides["care_forms.service.need_duration.mean"] = base.care_forms["service"].need_duration.mean() / k
    overrides["timeline.end"] = (start + dt.timedelta(days=int(round(days)))).isoformat()
    return load_config(MMC_CONFIG, overrides=overrides)


def table(rows: list[tuple], header: tuple) -> str:
    cells = [tuple(str(x) for x in header)] + [tuple(str(x) for x in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(r, widths)))  # noqa: E731
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


# --------------------------------------------------------------------------- parts
def bench_default(regimes: list[str], reps: int, seed: int) -> tuple[list[tuple], dict]:
    import sim

    cfg = sim.load_config(DEFAULT_CONFIG)
    rows, secs_by_regime = [], {}
    for regime in regimes:
        secs, events, youths = [], [], []
        for r in range(reps):
            gc.collect()
            t0 = time.perf_counter()
            res = sim.run(cfg, regime=regime, seed=seed + r)
            secs.append(time.perf_counter() - t0)
            events.append(int(res.events))
            youths.append(len(res.episodes))
        s = statistics.median(secs)
        ev, yo = statistics.median(events), statistics.median(youths)
        secs_by_regime[regime] = s
        rows.append((regime, reps, f"{s:.2f}", f"{ev:,.0f}", f"{ev / s:,.0f}", f"{yo:,.0f}", f"{yo / s:,.0f}"))
    return rows, secs_by_regime


def bench_plain(cfg, reps: int, seed: int) -> dict:
    lam, mu, c = mmc_parameters(cfg)
    duration = cfg.timeline.end_day
    out = {"secs": [], "customers": [], "wait": []}
    for r in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        got = plain_mmc(lam, mu, c, duration, seed + r, warmup=cfg.timeline.contract_start_day)
        out["secs"].append(time.perf_counter() - t0)
        out["customers"].append(got["customers"])
        out["wait"].append(float(got["waits"].mean()))
    return out


def bench_model(cfg, regime: str, reps: int, seed: int) -> dict:
    import sim

    out = {"secs": [], "customers": [], "wait": []}
    for r in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        res = sim.run(cfg, regime=regime, seed=seed + r)
        out["secs"].append(time.perf_counter() - t0)
        out["customers"].append(len(res.episodes))
        cols = res.episodes.columns
        start, ref = np.asarray(cols["care_start"], float), np.asarray(cols["referral_time"], float)
        after = np.isfinite(start) & (start >= res.contract_start_day)
        out["wait"].append(float((start[after] - ref[after]).mean()))
    return out


def rate(m: dict) -> float:
    """Customers per second over all repetitions."""
    return sum(m["customers"]) / sum(m["secs"])


def tracemalloc_peak(regime: str, seed: int) -> float:
    import sim

    cfg = sim.load_config(DEFAULT_CONFIG)
    gc.collect()
    tracemalloc.start()
    try:
        sim.run(cfg, regime=regime, seed=seed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return mib(peak)


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=1, help="repetitions of each timing (median / pooled rate reported)")
    ap.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated regimes (default: all)")
    ap.add_argument("--skip-default", action="store_true", help="skip the default-region runs and their tracemalloc")
    ap.add_argument("--customers", type=int, default=100_000, help="expected referrals in the M/M/c comparison")
    ap.add_argument("--plain-only", action="store_true", help="only the plain SimPy M/M/c (no sim.run)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    regimes = [r.strip() for r in args.regimes.split(",") if r.strip()]
    if args.reps < 1 or args.customers < 1 or not regimes:
        ap.error("--reps and --customers must be positive and --regimes non-empty")

    print(f"caresim core benchmark  (python {sys.version.split()[0]}, simpy {simpy.__version__}, numpy {np.__version__})")
    targets: list[tuple] = []
    mem_rows = [("max RSS after imports", f"{maxrss_mib():.1f} MiB")]

    # (a) default region, then its memory (before the M/M/c runs can raise the RSS)
    default_secs: dict = {}
    if not (args.skip_default or args.plain_only):
        print(f"\n(a) default region {DEFAULT_CONFIG.relative_to(ROOT)}, one run per regime (median of {args.reps})")
        rows, default_secs = bench_default(regimes, args.reps, args.seed)
        print(table(rows, ("regime", "reps", "wall s", "events", "events/s", "youths", "youths/s")))
        for regime, s in default_secs.items():
            targets.append((f"default run, {regime}", f"{s:.2f} s", f"~{TARGET_DEFAULT_SECONDS:.0f} s",
                            verdict(s <= 1.2 * TARGET_DEFAULT_SECONDS)))
        rss = maxrss_mib()
        mem_rows.append(("max RSS after the default runs", f"{rss:.1f} MiB"))
        targets.append(("max RSS, default runs", f"{rss:.1f} MiB", f"< {TARGET_PEAK_MIB:.0f} MiB", verdict(rss < TARGET_PEAK_MIB)))
        peak = tracemalloc_peak(regimes[0], args.seed)
        mem_rows.append((f"tracemalloc peak, one default run ({regimes[0]})", f"{peak:.1f} MiB"))
        targets.append(("tracemalloc peak, default run", f"{peak:.1f} MiB", f"< {TARGET_PEAK_MIB:.0f} MiB",
                        verdict(peak < TARGET_PEAK_MIB)))

    # (b) verification config: model against plain SimPy
    cfg = verification_config(args.customers)
    lam, mu, c = mmc_parameters(cfg)
    theory = mmc_mean_wait(lam, mu, c)
    print(
        f"\n(b) M/M/c {MMC_CONFIG.relative_to(ROOT)}: lam={lam:.5g}/day mu={mu:.5g}/day c={c} "
        f"rho={lam / (c * mu):.3f}, {cfg.timeline.end_day:,.0f} days (~{args.customers:,} customers per run), "
        f"Erlang-C Wq = {theory:.4g} days"
    )
    plain = bench_plain(cfg, args.reps, args.seed)
    rows = [("plain SimPy", f"{sum(plain['secs']):.2f}", f"{sum(plain['customers']):,}", f"{rate(plain):,.0f}",
             f"{np.mean(plain['wait']):.4g}", "1.00")]
    if not args.plain_only:
        for regime in regimes:
            m = bench_model(cfg, regime, args.reps, args.seed)
            ratio = rate(m) / rate(plain)
            rows.append((f"sim.run {regime}", f"{sum(m['secs']):.2f}", f"{sum(m['customers']):,}", f"{rate(m):,.0f}",
                         f"{np.mean(m['wait']):.4g}", f"{ratio:.2f}"))
            targets.append((f"M/M/c ratio, {regime}", f"{ratio:.2f}x", f">= {TARGET_RATIO}x", verdict(ratio >= TARGET_RATIO)))
    print(table(rows, ("model", "wall s", "customers", "customers/s", "mean wait (d)", "ratio")))

    # (c) memory
    print("\n(c) memory")
    mem_rows.append(("max RSS of the whole process", f"{maxrss_mib():.1f} MiB"))
    print(table(mem_rows, ("measure", "value")))

    if targets:
        print("\ntargets")
        print(table(targets, ("target", "measured", "goal", "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
