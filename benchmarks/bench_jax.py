"""Core loop: symnet (eager and compiled) against jitted JAX, the original LNN's stack.

The same Lagrangian on both sides, ``L = 1/2 |qdot|^2 + 0.1 MLP([q, qdot])``
with a 4-128-128-1 softplus MLP (``q, qdot`` in R^2, float32, one set of
weights drawn once with numpy and loaded into both), and the same
Euler-Lagrange acceleration ``qddot = M^-1 (dL/dq - (d2L/dqdot dq) qdot)``
with an exact solve (no pseudo-inverse) on both sides. Rows:

1. the acceleration field, forward, at batch 8 and 256;
2. field forward + backward to the MLP's parameters (gradient of the mean
   squared error of the accelerations against fixed targets);
3. a classical rk4 rollout of 200 steps of size 0.01 that records every state
   (JAX: ``lax.scan``; symnet: ``rollout(method="rk4")``).

JAX side: ``jax.jit(jax.vmap(...))`` of per-sample functions, the idiom of the
LNN paper's code. symnet side: ``lagrangian_vector_field`` eager, then
``compile_field`` / ``rollout(compile=True)`` (torch.compile, inductor CPU).
Compile and jit times are measured separately (the first two calls minus
two warm calls, with an empty inductor cache: what a first run pays) and
excluded from the rows. Every timed row is the minimum over ``--repeats``
warm calls (the machine is shared: the minimum is the stable statistic).

Each thread count runs in fresh subprocesses (JAX fixes its thread pool at
import) pinned with ``sched_setaffinity`` to as many cores as threads; torch
gets ``set_num_threads`` and XLA ``intra_op_parallelism_threads``. The
trajectories of both sides are compared at the end (float32: relative
agreement ~1e-5 expected).

Run: ``.venv/bin/python benchmarks/bench_jax.py [--threads 1 2] [--repeats 5]``.
JAX is a peer for this benchmark only (``make bench`` installs it); symnet
never depends on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

HIDDEN = 128
DT = 0.01
STEPS = 200
BATCHES = (8, 256)


def weights(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights and biases of the 4-128-128-1 MLP (PyTorch's default uniform init)."""
    rng = np.random.default_rng(seed)
    sizes = [(4, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]
    out = []
    for fan_in, fan_out in sizes:
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        out.append((w, b))
    return out


def states(batch: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(batch, 2)).astype(np.float32)
    v = rng.normal(size=(batch, 2)).astype(np.float32)
    target = rng.normal(size=(batch, 2)).astype(np.float32)
    return q, v, target


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """``(first two calls, minimum of repeats warm calls)`` in seconds.

    Two calls: ``compile_field`` evaluates a new signature eagerly once (its
    checks) and compiles on the next call; the compile (or jit) time is
    ``first two - 2 * minimum``.
    """
    start = time.perf_counter()
    fn()
    fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return first, best


# ------------------------------------------------------------------ JAX side
def run_jax(repeats: int) -> dict:
    import jax
    import jax.numpy as jnp

    params = [(jnp.asarray(w), jnp.asarray(b)) for w, b in weights()]

    def lagrangian(params, q, v):
        h = jnp.concatenate([q, v])
        for w, b in params[:-1]:
            h = jax.nn.softplus(w @ h + b)
        w, b = params[-1]
        return 0.5 * jnp.sum(v**2) + 0.1 * (w @ h + b)[0]

    def accel(params, q, v):
        M = jax.hessian(lagrangian, 2)(params, q, v)
        dq = jax.grad(lagrangian, 1)(params, q, v)
        mixed = jax.jacfwd(jax.grad(lagrangian, 2), 1)(params, q, v) @ v
        return jnp.linalg.solve(M, dq - mixed)

    field = jax.jit(jax.vmap(accel, in_axes=(None, 0, 0)))

    def loss(params, q, v, target):
        return jnp.mean((jax.vmap(accel, in_axes=(None, 0, 0))(params, q, v) - target) ** 2)

    loss_grad = jax.jit(jax.grad(loss))

    def rk4_rollout(params, q, v):
        f = jax.vmap(accel, in_axes=(None, 0, 0))

        def step(state, _):
            x, y = state
            h = 0.5 * DT
            k1x, k1y = y, f(params, x, y)
            k2x, k2y = y + h * k1y, f(params, x + h * k1x, y + h * k1y)
            k3x, k3y = y + h * k2y, f(params, x + h * k2x, y + h * k2y)
            k4x, k4y = y + DT * k3y, f(params, x + DT * k3x, y + DT * k3y)
            x = x + DT / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
            y = y + DT / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
            return (x, y), (x, y)

        _, (xs, ys) = jax.lax.scan(step, (q, v), None, length=STEPS)
        return xs, ys

    rollout = jax.jit(rk4_rollout)
    out: dict = {"version": jax.__version__}

    def rows(batch: int) -> None:
        q, v, target = (jnp.asarray(a) for a in states(batch))
        first, best = best_time(lambda: field(params, q, v).block_until_ready(), repeats)
        out[f"field/{batch}"] = (best, first - 2 * best)

        def fb() -> None:
            for leaf in jax.tree_util.tree_leaves(loss_grad(params, q, v, target)):
                leaf.block_until_ready()

        first, best = best_time(fb, repeats)
        out[f"grad/{batch}"] = (best, first - 2 * best)
        first, best = best_time(lambda: rollout(params, q, v)[0].block_until_ready(), repeats)
        out[f"rollout/{batch}"] = (best, first - 2 * best)
        xs, _ = rollout(params, q, v)
        out[f"final/{batch}"] = np.asarray(xs[-1]).tolist()

    for batch in BATCHES:
        rows(batch)
    return out


# ---------------------------------------------------------------- torch side
def run_symnet(repeats: int, threads: int) -> dict:
    import torch
    from torch import nn

    import symnet.mechanics as mech

    torch.set_num_threads(threads)
    mlp = nn.Sequential(
        nn.Linear(4, HIDDEN), nn.Softplus(), nn.Linear(HIDDEN, HIDDEN), nn.Softplus()
    )
    mlp.append(nn.Linear(HIDDEN, 1))
    with torch.no_grad():
        for layer, (w, b) in zip([mlp[0], mlp[2], mlp[4]], weights(), strict=True):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))

    def lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return 0.5 * (qdot**2).sum(-1) + 0.1 * mlp(torch.cat([q, qdot], -1))[..., 0]

    field = mech.lagrangian_vector_field(lagrangian)
    compile_field = getattr(mech, "compile_field", None)
    compiled = compile_field(field) if compile_field is not None else None
    import inspect

    can_compile_rollout = "compile" in inspect.signature(mech.rollout).parameters
    out: dict = {"version": torch.__version__, "compiled": compiled is not None}

    def rows(batch: int) -> None:
        q, v, target = (torch.from_numpy(a) for a in states(batch))

        def fwd(f: Callable) -> Callable[[], object]:
            def call() -> object:
                with torch.no_grad():
                    return f(q, v)

            return call

        def fb(f: Callable) -> Callable[[], object]:
            def call() -> None:
                mlp.zero_grad()
                loss = ((f(q, v) - target) ** 2).mean()
                loss.backward()

            return call

        def roll(flag: bool | None) -> Callable[[], object]:
            kwargs = {} if flag is None else {"compile": flag}

            def call() -> object:
                with torch.no_grad():
                    return mech.rollout(field, q, v, dt=DT, steps=STEPS, method="rk4", **kwargs)

            return call

        fwd(field)()  # the first call's one-off checks (probe) are not part of the rows
        out[f"field/{batch}/eager"] = best_time(fwd(field), repeats)[1]
        out[f"grad/{batch}/eager"] = best_time(fb(field), repeats)[1]
        eager_roll = roll(False if can_compile_rollout else None)
        out[f"rollout/{batch}/eager"] = best_time(eager_roll, max(1, repeats // 2))[1]
        if compiled is not None:
            first, best = best_time(fwd(compiled), repeats)
            out[f"field/{batch}/compiled"] = (best, first - 2 * best)
            first, best = best_time(fb(compiled), repeats)
            out[f"grad/{batch}/compiled"] = (best, first - 2 * best)
        if can_compile_rollout:
            first, best = best_time(roll(True), repeats)
            out[f"rollout/{batch}/compiled"] = (best, first - 2 * best)
            traj = roll(True)()
        else:
            traj = eager_roll()
        out[f"final/{batch}"] = traj.q[-1].tolist()

    for batch in BATCHES:
        rows(batch)
    return out


# ------------------------------------------------------------------- driver
def child(side: str, threads: int, repeats: int) -> dict:
    """Run one side in a fresh interpreter pinned to ``threads`` cores."""
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["XLA_FLAGS"] = (
        f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    )
    env["JAX_PLATFORMS"] = "cpu"
    # an empty inductor cache: the compile times are those of a first run
    env["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench_jax_inductor_")
    cmd = [sys.executable, __file__, "--child", side, "--threads", str(threads)]
    cmd += ["--repeats", str(repeats)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 1 else f"{seconds:9.3f} s "


def report(threads: int, jx: dict, sn: dict) -> None:
    print(f"\n== {threads} thread(s); JAX {jx['version']}, torch {sn['version']}")
    head = f"{'work':<28} {'batch':>5} {'JAX jit':>12} {'symnet eager':>13} {'ratio':>6}"
    print(head + f" {'symnet compiled':>16} {'ratio':>6}")
    names = {
        "field": "acceleration field, forward",
        "grad": "field fwd + bwd to params",
        "rollout": f"rk4 rollout, {STEPS} steps",
    }
    for batch in BATCHES:
        for key, label in names.items():
            ref = jx[f"{key}/{batch}"][0]
            eager = sn[f"{key}/{batch}/eager"]
            line = f"{label:<28} {batch:>5} {fmt(ref):>12} {fmt(eager):>13} {eager / ref:5.2f}x"
            comp = sn.get(f"{key}/{batch}/compiled")
            if comp is not None:
                line += f" {fmt(comp[0]):>16} {comp[0] / ref:5.2f}x"
            print(line)
    print("compile / jit time (first two calls minus two warm calls; empty inductor cache):")
    for batch in BATCHES:
        for key, label in names.items():
            comp = sn.get(f"{key}/{batch}/compiled")
            torch_c = f"{comp[1]:.1f} s" if comp is not None else "-"
            print(
                f"  {label:<28} {batch:>5}  JAX {jx[f'{key}/{batch}'][1]:5.1f} s  symnet {torch_c}"
            )
    for batch in BATCHES:
        a = np.asarray(jx[f"final/{batch}"])
        b = np.asarray(sn[f"final/{batch}"])
        rel = np.abs(a - b).max() / np.abs(a).max()
        print(f"  trajectories agree at step {STEPS}, batch {batch}: max rel. difference {rel:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", choices=["jax", "symnet"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        os.sched_setaffinity(0, set(range(min(args.threads[0], os.cpu_count() or 1))))
        run = run_jax if args.child == "jax" else run_symnet
        result = run(args.repeats) if args.child == "jax" else run(args.repeats, args.threads[0])
        print(json.dumps(result))
        return
    print(__doc__.splitlines()[0])
    print(f"MLP 4-{HIDDEN}-{HIDDEN}-1 softplus, float32, dt={DT}; minimum of {args.repeats} runs")
    for threads in args.threads:
        jx = child("jax", threads, args.repeats)
        sn = child("symnet", threads, args.repeats)
        report(threads, jx, sn)


if __name__ == "__main__":
    main()
