"""Speed-up of a Noether check and of LNN training on 1 and 2 processes (torchrun, gloo).

Two workloads, each run under ``torchrun`` on 1 and on 2 processes, one thread per
process:

- **check**: ``noether.check`` of the two-body spring (closed-form acceleration
  through ``field=``) on 4096 trajectories x 1000 steps, every generator of
  Translation(3) x Rotation(3) x TimeShift(). Under a process group the checker
  shards the initial states across ranks and gathers what the report needs.
- **train**: one epoch of an LNN (``symnet.models.train``) on two-body-spring
  trajectories. Under a process group ``train`` wraps the model in
  ``DistributedDataParallel``; the global batch is the same on every world size.

Each worker times its workload between two barriers, after an untimed warm-up on
a small problem (first-call costs), and rank 0 prints one ``RESULT {json}`` line;
the driver starts the runs, checks that the 2-process verdicts and losses equal
the 1-process ones, and prints the wall times and speed-ups (goal: >= 1.7x at 2
processes). The time to start the processes and import torch is not counted.

Run: ``.venv/bin/python benchmarks/bench_distributed.py [--batch 4096] [--steps 1000]
[--traj 256] [--points 100] [--batch-size 2048] [--nproc 1 2] [--task check train]
[--compile off]``. Training steps pay a fixed cost for the gradient all-reduce (gloo over
loopback TCP: 2.6 ms per 40 KB here), so small global batches gain less: 1.15x at 512.
On a cluster the same worker runs unchanged under a multi-node launch, e.g.
``torchrun --nnodes 4 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500
benchmarks/bench_distributed.py --worker --task check``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

RESULT = "RESULT "


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="run one workload (under torchrun)")
    parser.add_argument("--task", nargs="+", choices=["check", "train"], default=["check", "train"])
    parser.add_argument("--nproc", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--batch", type=int, default=4096, help="check: trajectories")
    parser.add_argument("--steps", type=int, default=1000, help="check: steps")
    parser.add_argument("--traj", type=int, default=256, help="train: trajectories")
    parser.add_argument("--points", type=int, default=100, help="train: steps per trajectory")
    parser.add_argument("--batch-size", type=int, default=2048, help="train: global batch")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="off")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = parser.parse_args(argv)
    for name in ("batch", "steps", "traj", "points", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(n < 1 for n in args.nproc):
        parser.error("--nproc values must be >= 1")
    return args


# ------------------------------------------------------------------------------ the worker


def _timed(fn: Any) -> tuple[float, Any]:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
    start = time.perf_counter()
    out = fn()
    if dist.is_initialized():
        dist.barrier()
    return time.perf_counter() - start, out


def _check(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import symnet as sn
    from symnet.groups import Rotation, TimeShift, Translation

    system = sn.systems.TwoBodySpring()
    group = Translation(3) * Rotation(3) * TimeShift()
    flag = {"auto": "auto", "on": True, "off": False}[args.compile]

    def run(batch: int, steps: int) -> Any:
        q, v = system.sample_states(batch, torch.Generator().manual_seed(0))
        return sn.noether.check(system.lagrangian, group, q, v, dt=0.01, steps=steps,
                                field=system.acceleration, compile=flag)  # fmt: skip

    run(64, 20)  # warm-up
    seconds, report = _timed(lambda: run(args.batch, args.steps))
    drift = {r.generator: r.drift for r in report.rows}
    return {"seconds": seconds, "verdicts": report.verdicts, "drift": drift}


def _train(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import symnet as sn

    system = sn.systems.TwoBodySpring()
    data = system.generate(args.traj, args.points, 0.05, rng=0)

    def run(**kw: Any) -> Any:
        torch.manual_seed(0)
        model = sn.models.LNN(config_shape=(2, 3), hidden=64, structured=True)
        return sn.models.train(model, data, batch_size=args.batch_size, rng=0, progress=False,
                               **kw)  # fmt: skip

    run(steps=2)  # warm-up
    seconds, hist = _timed(lambda: run(epochs=1))
    return {"seconds": seconds, "steps": hist.steps, "loss": hist.train_loss[-1]}


def worker(args: argparse.Namespace) -> None:
    """One workload in this process; under torchrun, on its rank of a gloo group."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    if "WORLD_SIZE" in os.environ and not dist.is_initialized():
        dist.init_process_group("gloo")
    try:
        for task in args.task:
            out = {"check": _check, "train": _train}[task](args)
            out.update(task=task, world=dist.get_world_size() if dist.is_initialized() else 1)
            if not dist.is_initialized() or dist.get_rank() == 0:
                print(RESULT + json.dumps(out), flush=True)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


# ------------------------------------------------------------------------------ the driver


def _launch(args: argparse.Namespace, task: str, nproc: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc-per-node={nproc}", __file__, "--worker", "--task", task,
           "--batch", str(args.batch), "--steps", str(args.steps), "--traj", str(args.traj),
           "--points", str(args.points), "--batch-size", str(args.batch_size),
           "--compile", args.compile]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{task} on {nproc} processes failed:\n{proc.stderr[-4000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
    if len(lines) != 1:
        raise RuntimeError(f"{task} on {nproc} processes printed no result:\n{proc.stdout}")
    out = json.loads(lines[0][len(RESULT) :])
    out["launch_seconds"] = wall
    return out


def _agree(task: str, ref: dict[str, Any], out: dict[str, Any]) -> str:
    if task == "check":
        if out["verdicts"] != ref["verdicts"]:
            return "verdicts DIFFER"
        worst = max(abs(out["drift"][k] - v) / max(abs(v), 1e-300) for k, v in ref["drift"].items())
        return f"same verdicts, drifts within {worst:.1e}"
    rel = abs(out["loss"] - ref["loss"]) / max(abs(ref["loss"]), 1e-300)
    return f"{out['steps']} steps, final loss within {rel:.1e}"


def main(argv: list[str] | None = None) -> None:
    """Run each task on each process count; print wall times and speed-ups."""
    args = _parse(argv)
    if args.worker:
        worker(args)
        return
    print(f"bench_distributed: torchrun --standalone, gloo, 1 thread per process, "
          f"cpu_count={os.cpu_count()}")  # fmt: skip
    print(
        f"check: TwoBodySpring, {args.batch} trajectories x {args.steps} steps, rk4, "
        f"E(3) x time, compile={args.compile}; train: LNN(hidden=64, structured=True), "
        f"{args.traj} x {args.points + 1} states, global batch {args.batch_size}, 1 epoch"
    )
    print(f"{'task':6} {'procs':>5} {'seconds':>9} {'launch s':>9} {'speed-up':>9}  agreement")
    for task in args.task:
        ref = None
        for n in args.nproc:
            out = _launch(args, task, n)
            ref = out if ref is None else ref
            speed = ref["seconds"] / out["seconds"]
            print(f"{task:6} {n:5d} {out['seconds']:9.2f} {out['launch_seconds']:9.2f} "
                  f"{speed:8.2f}x  {_agree(task, ref, out)}", flush=True)  # fmt: skip
    print("speed-up: time on the first process count / time on this one (goal >= 1.7x at 2)")


if __name__ == "__main__":
    main()
