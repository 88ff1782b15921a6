"""How long every Python snippet of the README and the docs takes, with 1 and 2 threads.

Each page runs in a fresh interpreter (``python -c``), its ```python blocks one
after the other in one namespace (later blocks use the names of earlier ones,
as a reader would run them), each block timed with ``time.perf_counter``. The
imports of the first block are part of its time (a reader pays them too).
Thread counts are applied with ``torch.set_num_threads`` before the first
block and with the process pinned to as many cores; ``OMP_NUM_THREADS`` is set
to match. Blocks that take under ``--min`` seconds are summarised, not listed.

The numbers feed the expected times printed in docs/performance.md.

Run: ``.venv/bin/python benchmarks/bench_docs.py [--threads 1 2] [--pages README.md ...]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, set(range(min(int(sys.argv[2]), os.cpu_count() or 1))))
import matplotlib
matplotlib.use("Agg")
import torch
torch.set_num_threads(int(sys.argv[2]))
blocks = json.loads(open(sys.argv[1]).read())
ns = {"__name__": "__docs__"}
times = []
for code in blocks:
    start = time.perf_counter()
    try:
        exec(compile(code, "<docs>", "exec"), ns)
        status = "ok"
    except BaseException as err:  # a failing snippet is reported, not fatal
        status = f"{type(err).__name__}: {str(err).splitlines()[0][:80] if str(err) else ''}"
    times.append((time.perf_counter() - start, status))
print(json.dumps(times))
"""


def blocks_of(page: Path) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(page.read_text())]


def run_page(page: Path, threads: int, tmp: Path) -> list[tuple[float, str]]:
    blocks = blocks_of(page)
    if not blocks:
        return []
    src = tmp / f"{page.stem}.json"
    src.write_text(json.dumps(blocks))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(src), str(threads)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{page} failed:\n{done.stderr[-2000:]}")
    return [tuple(t) for t in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pages", nargs="+", default=None)
    parser.add_argument("--min", type=float, default=2.0, help="list blocks above this (s)")
    args = parser.parse_args()
    pages = (
        [ROOT / p for p in args.pages]
        if args.pages
        else [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    )
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        results = {
            threads: {page: run_page(page, threads, Path(tmp)) for page in pages}
            for threads in args.threads
        }
    head = "page, block (first line)".ljust(62)
    print(head + "".join(f"{f'{n} thread(s)':>14}" for n in args.threads))
    for page in pages:
        blocks = blocks_of(page)
        for i, code in enumerate(blocks):
            row = [results[n][page][i] for n in args.threads]
            if max(t for t, _ in row) < args.min and all(s == "ok" for _, s in row):
                continue
            first = next((ln for ln in code.splitlines() if ln.strip()), "")[:40]
            label = f"{page.relative_to(ROOT)} #{i + 1} {first}"[:61].ljust(62)
            cells = "".join(f"{t:>12.1f} s" for t, _ in row)
            bad = {s for _, s in row if s != "ok"}
            print(label + cells + (f"  FAILED {bad.pop()}" if bad else ""))
        totals = "".join(f"{sum(t for t, _ in results[n][page]):>12.1f} s" for n in args.threads)
        print(f"{str(page.relative_to(ROOT)) + ' (all blocks)':<62}{totals}")


if __name__ == "__main__":
    main()
