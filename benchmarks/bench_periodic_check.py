"""The Noether checker on the periodic Lennard-Jones fluid, from 4096 to 10^5 particles.

``noether.check`` of ``LennardJones.fcc(cells, shift="force")`` (density
0.8442, T = 1.44, cutoff 2.5, skin 0.3) with the closed-form forces, velocity
Verlet (``method="leapfrog"``), ``dt = 0.005``, for the symmetries a periodic
box keeps and breaks: translations of the torus, rotations (broken by the
box), permutations and time shifts. Prints, per N, the wall time of the
check and of its two bare rollouts (at dt and dt/2), the peak resident memory
of the process, and the verdicts with the figures behind them. Expected:
momentum conserved to round-off, energy conserved at order 2, permutation
conserved, rotations broken with a small balance-law residual.

Each N runs in a fresh process (one thread) so that the peak memory is its own.

Run: ``.venv/bin/python benchmarks/bench_periodic_check.py [--cells 10 16 29] [--steps 20]``
(N = 4 cells^3: 4000, 16384 and 97556 particles).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

RESULT = "RESULT "


def _worker(cells: int, steps: int, batch: int) -> dict:
    import torch

    import symnet as sn
    from symnet.groups import Permutation, Rotation, TimeShift, Translation

    torch.set_num_threads(1)
    lj = sn.systems.LennardJones.fcc(cells, shift="force")
    q, v = lj.sample_states(batch, torch.Generator().manual_seed(0))
    symmetries = [Translation(3, box=lj.box), Rotation(3), Permutation(), TimeShift()]
    start = time.perf_counter()
    for dt, n in ((0.005, steps), (0.0025, 2 * steps)):
        sn.mechanics.rollout(lj.acceleration, q, v, dt=dt, steps=n, method="leapfrog",
                             compile=False)  # fmt: skip
    rollouts = time.perf_counter() - start
    start = time.perf_counter()
    report = sn.noether.check(lj.lagrangian, symmetries, q, v, dt=0.005, steps=steps,
                              method="leapfrog", field=lj.acceleration, rng=0,
                              progress=False)  # fmt: skip
    seconds = time.perf_counter() - start
    rows = [
        {"generator": r.generator, "verdict": r.verdict, "invariance": r.invariance_error,
         "drift": r.drift, "order": r.measured_order, "balance": r.balance_residual}
        for r in report.rows
    ]  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
    return {"N": lj.N, "seconds": seconds, "rollouts": rollouts, "peak_mib": peak, "rows": rows}


def main() -> None:
    """Run each size in its own process; print times, memory and verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[10, 16, 29])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(RESULT + json.dumps(_worker(args.worker, args.steps, args.batch)), flush=True)
        return
    print(f"noether.check, LennardJones.fcc(cells, shift='force'), leapfrog dt=0.005, "
          f"{args.steps} steps, batch {args.batch}, 1 thread")  # fmt: skip
    print(f"{'N':>7} {'check s':>8} {'rollouts s':>10} {'peak MiB':>9}  verdicts")
    for cells in args.cells:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        cmd = [sys.executable, __file__, "--worker", str(cells), "--steps", str(args.steps),
               "--batch", str(args.batch)]  # fmt: skip
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"cells={cells} failed:\n{proc.stderr[-4000:]}")
        out = json.loads(lines[0][len(RESULT) :])
        kinds: dict[str, str] = {}
        for row in out["rows"]:
            kinds.setdefault(row["generator"].split("_")[0], row["verdict"])
        print(f"{out['N']:7d} {out['seconds']:8.1f} {out['rollouts']:10.1f} "
              f"{out['peak_mib']:9.0f}  {kinds}", flush=True)  # fmt: skip
        for row in out["rows"]:
            figures = " ".join(
                f"{key} {row[key]:.2g}" for key in ("invariance", "drift", "order", "balance")
                if row[key] is not None
            )  # fmt: skip
            print(f"        {row['generator']:14} {row['verdict']:10} {figures}")


if __name__ == "__main__":
    main()
