"""Render a results report in a real headless browser (Debian's chromium) and
check the page is drawn.

    python benchmarks/render_report.py                 # a tiny demo sweep, its report, a screenshot
    python benchmarks/render_report.py results/compare # an existing results folder (sweep or compare)
    python benchmarks/render_report.py DIR --out shot.png --width 1200 --height 4000

Writes DIR/report/index.html (via sim.write_report), takes a screenshot
with ``chromium --headless`` and checks it is not blank. A script rather than
a test because CI machines may lack chromium (tests/test_report.py runs the
same check when /usr/bin/chromium exists). Exit status 0 when the page
rendered, 1 when it looks blank, 2 when chromium is missing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]

#: a small world (about 0.2 s a run): 2 design points x 2 regimes x 3 replications
DEMO_SPEC = {
    "name": "render-demo",
    "base": str(ROOT / "configs" / "achterhoek.yaml"),
    "overrides": {
        "timeline.start": "2021-01-01", "timeline.contract_start": "2022-07-01", "timeline.end": "2024-07-01",
        "demand.first_referrals_per_year": 600, "providers.count": 60,
        "providers.total_staff_hours_per_week": 5000, "access_team.assessors": 20,
        "access_team.care_hours_per_week": 100,
    },
    "factors": {"grid": {"regimes.expertise.contracted_providers": [15, 25]}},
    "replications": 3,
    "seed": 1,
    "outputs": ["episodes", "monthly"],
}


def find_chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 4000, chromium: str | None = None,
               timeout: float = 120.0) -> Path:
    """Screenshot of ``html`` (a local file) by headless chromium; returns ``png``."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium)")
    png = Path(png).resolve()
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="caresim-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", Path(html).resolve().as_uri()]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                             env={**os.environ, "HOME": profile})
    if not png.exists():
        raise RuntimeError(f"chromium wrote no screenshot (exit {out.returncode}): {out.stderr.strip()[-500:]}")
    return png


def looks_rendered(png: Path, width: int, height: int) -> tuple[bool, str]:
    """The screenshot has the window's size and is not blank: some dark pixels
    (text) and some coloured ones (figures; so the window must be tall enough
    to reach the first figure, which the default 1200 x 4000 is)."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        if im.size != (width, height):
            return False, f"screenshot is {im.size}, expected {(width, height)}"
        rgb = np.asarray(im.convert("RGB")).astype(int)
    dark = float((rgb.sum(axis=2) < 200).mean())
    colour = float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())
    ok = dark > 0.002 and colour > 0.0005
    return ok, f"dark pixels {100 * dark:.2f}%, coloured pixels {100 * colour:.2f}%"


def demo_results(out_dir: Path) -> Path:
    """A tiny sweep with episodes and monthly tables (about 3 s serially)."""
    import sim

    sim.run_sweep(DEMO_SPEC, out_dir, executor="serial", progress=False)
    return Path(out_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", help="results folder (default: a tiny demo sweep in a temp folder)")
    ap.add_argument("--out", help="screenshot path (default: REPORT_DIR/screenshot.png)")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--svg", action="store_true", help="also write SVG figures")
    args = ap.parse_args(argv)

    chromium = find_chromium()
    if chromium is None:
        print("render_report: chromium not found; install it with: apt-get install -y chromium", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from sim import write_report

    results = Path(args.results) if args.results else demo_results(Path(tempfile.mkdtemp(prefix="caresim-report-")))
    t = time.perf_counter()
    html = write_report(results, formats=("png", "svg") if args.svg else ("png",))
    print(f"report: {html} ({time.perf_counter() - t:.1f} s)")
    png = screenshot(html, Path(args.out) if args.out else html.parent / "screenshot.png", args.width, args.height,
                     chromium)
    ok, detail = looks_rendered(png, args.width, args.height)
    print(f"screenshot: {png} ({detail}) -> {'rendered' if ok else 'LOOKS BLANK'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
