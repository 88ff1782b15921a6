"""Cost of the Noether checker on top of the integration it needs.

``check`` on 1024 two-body-spring trajectories, 1000 steps, all generators of
Translation(3) x Rotation(3) x TimeShift(): the total time against the bare
cost of the two rollouts it performs (at dt and dt/2). Dynamics: the system's
closed-form acceleration (``field=``), so that the ratio measures the
checker's own work (charges, Lie derivatives, finite elements, balance law).
Target: the checker adds at most 2x on top of integration.

Run: ``.venv/bin/python benchmarks/bench_noether.py [--batch 1024] [--steps 1000]
[--compile auto|on|off]``.
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import time

import torch

import symnet as sn
from symnet.groups import Rotation, TimeShift, Translation


def main() -> None:
    """Time ``check`` and the two rollouts it needs; print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--compile",
        choices=["auto", "on", "off"],
        default="auto",
        help="compile= of the check and of the bare rollouts (eager in older versions)",
    )
    args = parser.parse_args()
    flag = {"auto": "auto", "on": True, "off": False}[args.compile]
    # releases before compiled rollouts have no compile= (then: eager)
    extra = (
        {"compile": flag} if "compile" in inspect.signature(sn.mechanics.rollout).parameters else {}
    )
    torch.set_num_threads(args.threads)

    system = sn.systems.TwoBodySpring()
    q, v = system.sample_states(args.batch, torch.Generator().manual_seed(0))
    group = Translation(3) * Rotation(3) * TimeShift()
    dt = 0.01

    def rollouts() -> None:
        sn.mechanics.rollout(system.acceleration, q, v, dt=dt, steps=args.steps, **extra)
        sn.mechanics.rollout(system.acceleration, q, v, dt=dt / 2, steps=2 * args.steps, **extra)

    def check() -> sn.noether.NoetherReport:
        return sn.noether.check(
            system.lagrangian,
            group,
            q,
            v,
            dt=dt,
            steps=args.steps,
            field=system.acceleration,
            **extra,
        )

    start = time.perf_counter()
    report = check()  # warm-up (and compilation), and the verdicts
    first = time.perf_counter() - start
    t_roll, t_check = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        rollouts()
        t_roll.append(time.perf_counter() - start)
        start = time.perf_counter()
        check()
        t_check.append(time.perf_counter() - start)
    roll, chk = statistics.median(t_roll), statistics.median(t_check)
    mode = args.compile if extra else "eager (no compile= in this version)"
    print(f"two-body spring, B = {args.batch}, {args.steps} steps, rk4, {args.threads} thread(s)")
    print(f"  compile: {mode}; first check (warm-up, compilation included): {first:.2f} s")
    print(f"  bare rollouts (dt and dt/2): {roll:8.2f} s")
    print(f"  check (all 7 generators):    {chk:8.2f} s")
    print(f"  ratio check / rollouts:      {chk / roll:8.2f}x   (overhead {chk / roll - 1:.2f}x)")
    print(f"  verdicts: {report.verdicts}")


if __name__ == "__main__":
    main()
