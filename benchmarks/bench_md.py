"""Lennard-Jones molecular dynamics with neighbour lists: scaling to 10^5 and jax-md.

The standard LJ protocol (LAMMPS ``bench/in.lj``, reduced units): fcc lattice
at number density 0.8442, initial temperature 1.44, cut-and-shifted LJ
(``shift="energy"``) with cutoff 2.5, Verlet-list skin 0.3, step 0.005,
velocity Verlet (symnet's "leapfrog" kick-drift-kick; one force per step) with
the neighbour list rebuilt on demand (a particle moved more than half the
skin).

(a) Scaling: symnet's rollout, time per step for ``N = 4 n^3`` from 864 to
97,556 (float32, the headline, and float64), one thread, warm (the first
neighbour-list build and force are timed apart); the exponent of time per
step against N is fitted by least squares on log-log, and the peak resident
memory (``ru_maxrss`` of a fresh process per N) shows the O(N) memory. A
log-log plot goes to ``--plot``.

(b) Against jax-md: the same protocol with ``jax_md.space.periodic``,
``jax_md.partition.neighbor_list`` (``dr_threshold`` = the skin, so the same
list range and rebuild rule), ``jax_md.simulate.nve`` and the same
cut-and-shifted LJ written as a ``jax_md.smap.pair_neighbor_list`` pair
function (jax-md's ``energy.lennard_jones_neighbor_list`` would multiply LJ
by a C^1 switch from ``r_onset = 2.0`` to 2.5 instead: a different
potential), jitted chunks of steps in ``lax.fori_loop``. Both start from the
same positions and velocities. Sizes: fcc needs ``N = 4 n^3``, so the
issue's 4096 and 32768 become 4000 (n = 10) and 32000 (n = 20, the LAMMPS
size). Rows: steps per second (minimum time over chunks), the first chunk
(symnet: the first build and force; jax-md: tracing + XLA compile + the
first run) apart, and the relative energy change over all the steps (the energy of every
recorded state evaluated the same way on both sides: symnet's LJ in float64,
so that float32 runs are not judged by a float32 sum of 10^5 pair terms).

Every measurement runs in a fresh subprocess pinned to one core
(``sched_setaffinity``) with one thread (``torch.set_num_threads(1)``;
``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1``).

Run: ``.venv/bin/python benchmarks/bench_md.py [--quick] [--plot PATH]
[--skip-scaling] [--skip-jax]``. jax-md is a peer for this benchmark only
(``make bench`` installs it); symnet never depends on it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

DENSITY = 0.8442
TEMPERATURE = 1.44
CUTOFF = 2.5
SKIN = 0.3
DT = 0.005
SCALING_CELLS = (6, 10, 16, 22, 29)  # N = 864, 4000, 16384, 42592, 97556
QUICK_CELLS = (4, 6, 8)
PEER_CELLS = (10, 20)  # N = 4000, 32000


# ------------------------------------------------------------------ workers (fresh processes)


def _log(*args: object) -> None:
    if os.environ.get("BENCH_MD_VERBOSE"):
        print(f"[{time.perf_counter():.1f}]", *args, file=sys.stderr, flush=True)


def initial_state(cells: int, seed: int = 0):
    """fcc positions and velocities at T = 1.44 (float64 tensors (N, 3)) and the system."""
    import torch

    from symnet.systems import LennardJones

    lj = LennardJones.fcc(
        cells, density=DENSITY, cutoff=CUTOFF, skin=SKIN, temperature=TEMPERATURE, shift="energy"
    )
    q, v = lj.sample_states(1, rng=torch.Generator().manual_seed(seed))
    return lj, q, v


def reference_energy(lj, q, v) -> float:
    """Total energy of one state by symnet's LJ in float64: the one ruler for both sides."""
    import torch

    q, v = torch.as_tensor(q, dtype=torch.float64), torch.as_tensor(v, dtype=torch.float64)
    return float(lj.energy(q.reshape(1, lj.N, 3), v.reshape(1, lj.N, 3))[0])


def pair_kernel_field(lj, compiled: bool = True):
    """The acceleration of ``lj`` by a fused pair kernel over its neighbour list (a proposal).

    The pairs come from symnet's :class:`NeighbourList` as in ``lj.acceleration``;
    the displacements use the list's maintained image ``shift``
    (``q[j] - q[i] + shift``, exact within the cutoff) instead of recomputing the
    minimum image, and gather -> LJ force -> scatter runs as one
    ``torch.compile(dynamic=True)`` kernel (one compile for every list length).
    Not part of symnet: what the report proposes for the system's force code.
    """
    import torch

    rc2 = lj.cutoff**2
    eps, sig2 = lj.epsilon, lj.sigma**2

    def kernel(flat, i, j, shift):
        dx = flat[j] - flat[i] + shift
        r2 = (dx * dx).sum(-1)
        inside = r2 < rc2
        s2 = sig2 / torch.where(inside, r2, rc2)
        s6 = s2 * s2 * s2
        g = torch.where(inside, 24.0 * eps * (s6 - 2.0 * s6 * s6) / r2, 0.0)
        f = g[:, None] * dx
        return torch.zeros_like(flat).index_add_(0, i, f).index_add_(0, j, -f)

    run = torch.compile(kernel, dynamic=True) if compiled else kernel

    def acceleration(q, v):
        pairs = lj.neighbour_list(q).update(q)
        base = pairs.batch * q.shape[1]
        flat = q.reshape(-1, q.shape[-1])
        F = run(flat, base + pairs.i, base + pairs.j, pairs.shift.to(q.dtype))
        return F.reshape(q.shape) / lj.m

    return acceleration


def symnet_worker(cells: int, dtype: str, chunk: int, chunks: int, kernel: bool = False) -> dict:
    """symnet: ``chunks`` rollouts of ``chunk`` leapfrog steps, continuing one trajectory."""
    import torch

    from symnet.mechanics import rollout

    torch.set_num_threads(1)
    lj, q, v = initial_state(cells)
    q, v = q.to(getattr(torch, dtype)), v.to(getattr(torch, dtype))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # runtime + state
    field = pair_kernel_field(lj) if kernel else lj.acceleration
    start = time.perf_counter()
    field(q, v)  # the first neighbour-list build and force (and the kernel's compile)
    first = time.perf_counter() - start
    nl = lj.neighbour_list(q)
    energies, times, builds = [reference_energy(lj, q, v)], [], nl.builds
    for _ in range(chunks):
        start = time.perf_counter()
        traj = rollout(
            field, q, v, dt=DT, steps=chunk, method="leapfrog", compile=False, every=chunk
        )
        times.append((time.perf_counter() - start) / chunk)
        q, v = traj.q[-1], traj.v[-1]
        energies.append(reference_energy(lj, q, v))
    return {
        "side": "symnet-kernel" if kernel else "symnet",
        "N": lj.N,
        "dtype": dtype,
        "per_step": min(times),
        "per_step_median": sorted(times)[len(times) // 2],
        "first": first,
        "energies": energies,
        "rebuilds": nl.builds - builds,
        "steps": chunk * chunks,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "base_rss_mb": base_rss,
    }


def jaxmd_worker(cells: int, dtype: str, chunk: int, chunks: int) -> dict:
    """jax-md: the same protocol, jitted ``lax.fori_loop`` chunks of NVE steps."""
    import jax

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    from jax import lax
    from jax_md import partition, simulate, smap, space

    lj, q, v = initial_state(cells)
    side = float(lj.box.lengths[0])
    ftype = jnp.float64 if dtype == "float64" else jnp.float32
    displacement, shift = space.periodic(side)
    rc2 = CUTOFF**2
    phi_c = 4.0 * (CUTOFF**-12 - CUTOFF**-6)

    def cut_shifted(dr):  # the same potential as symnet's shift="energy"
        inside = (dr < CUTOFF) & (dr > 0.0)  # dr = 0: jax-md's padding of the pair list
        s6 = (1.0 / jnp.where(inside, dr * dr, rc2)) ** 3
        return jnp.where(inside, 4.0 * (s6 * s6 - s6) - phi_c, 0.0)

    neighbor_fn = partition.neighbor_list(
        displacement,
        side,
        CUTOFF,
        dr_threshold=SKIN,
        format=partition.OrderedSparse,
    )
    metric = space.canonicalize_displacement_or_metric(displacement)  # pair fn of distances
    energy_fn = smap.pair_neighbor_list(cut_shifted, metric)
    init_fn, apply_fn = simulate.nve(energy_fn, shift, dt=DT)
    R = jnp.asarray(q[0].numpy() % side, dtype=ftype)
    P = jnp.asarray(v[0].numpy(), dtype=ftype)  # mass 1: momentum = velocity

    def run(state, nbrs):
        def body(_, carry):
            state, nbrs = carry
            nbrs = nbrs.update(state.position)
            return apply_fn(state, neighbor=nbrs), nbrs

        return lax.fori_loop(0, chunk, body, (state, nbrs))

    run = jax.jit(run)

    def total_energy(state, nbrs) -> float:
        pos, mom = np.asarray(state.position, np.float64), np.asarray(state.momentum, np.float64)
        return reference_energy(lj, pos, mom)  # mass 1

    _log("jax-md: built functions")
    nbrs = neighbor_fn.allocate(R)
    _log("jax-md: allocated", nbrs.idx.shape)
    state = init_fn(jax.random.PRNGKey(0), R, kT=TEMPERATURE, neighbor=nbrs)
    state = state.set(momentum=P)
    e0 = total_energy(state, nbrs)
    _log("jax-md: energy", e0)
    start = time.perf_counter()
    new_state, new_nbrs = run(state, nbrs)
    jax.block_until_ready(new_state.position)
    first = time.perf_counter() - start
    _log("jax-md: first chunk", first)
    reallocations = 0
    energies, times = [e0], []
    while len(times) < chunks:
        if bool(new_nbrs.did_buffer_overflow):  # the list grew: reallocate, redo the chunk
            reallocations += 1
            _log("jax-md: reallocating")
            nbrs = neighbor_fn.allocate(state.position)
            new_state, new_nbrs = run(state, nbrs)
            continue
        state, nbrs = new_state, new_nbrs
        energies.append(total_energy(state, nbrs))
        start = time.perf_counter()
        new_state, new_nbrs = run(state, nbrs)
        jax.block_until_ready(new_state.position)
        times.append((time.perf_counter() - start) / chunk)
    return {
        "side": "jax-md",
        "N": lj.N,
        "dtype": dtype,
        "per_step": min(times),
        "per_step_median": sorted(times)[len(times) // 2],
        "first": first,
        "energies": energies,
        "reallocations": reallocations,
        "steps": chunk * chunks,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# ------------------------------------------------------------------ driver


def spawn(side: str, cells: int, dtype: str, chunk: int, chunks: int, core: int) -> dict:
    """One measurement in a fresh process on one core with one thread."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
        JAX_PLATFORMS="cpu",
    )
    args = [sys.executable, __file__, "--worker", side, "--cells", str(cells)]
    args += ["--dtype", dtype, "--chunk", str(chunk), "--chunks", str(chunks), "--core", str(core)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{side} worker (cells={cells}, {dtype}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def drift(r: dict) -> tuple[float, float]:
    """(relative final energy change, max relative deviation) of a run's chunk-end energies."""
    e = r["energies"]
    scale = abs(e[0])
    return (e[-1] - e[0]) / scale, max(abs(x - e[0]) for x in e) / scale


def fit_exponent(ns: list[int], ts: list[float]) -> tuple[float, float]:
    """Least-squares ``log t = a log N + b``: ``(a, b)``."""
    xs, ys = [math.log(n) for n in ns], [math.log(t) for t in ts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return a, my - a * mx


def plot(results: dict[str, list[dict]], fits: dict[str, tuple[float, float]], path: str) -> None:
    """Time per step against N, log-log, with the fitted power laws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.2), dpi=120)
    for (dtype, rows), marker in zip(results.items(), "osd^", strict=False):
        ns = [r["N"] for r in rows]
        ts = [1e3 * r["per_step"] for r in rows]
        a, b = fits[dtype]
        line = ax.loglog(ns, ts, marker, label=f"symnet {dtype}")[0]
        grid = [ns[0] * (ns[-1] / ns[0]) ** (k / 50) for k in range(51)]
        fitted = [1e3 * math.exp(b) * n**a for n in grid]
        ax.loglog(grid, fitted, "-", color=line.get_color(), label=f"fit: N^{a:.2f}")
    ax.set_xlabel("particles N")
    ax.set_ylabel("time per step (ms), one thread")
    ax.set_title("LJ velocity Verlet with a Verlet list (rho = 0.8442, T = 1.44)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    print(f"plot written to {path}")


def scaling(cells: tuple[int, ...], dtypes: tuple[str, ...], steps: int, path: str | None) -> None:
    results: dict[str, list[dict]] = {}
    fits: dict[str, tuple[float, float]] = {}
    print("\n## Scaling: symnet velocity Verlet, one thread\n")
    print(
        "| dtype | N | ms / step (min) | median | first build + force (s) | rebuilds | "
        "peak RSS (MB) | peak RSS - RSS before the first force (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for dtype in dtypes:
        rows = []
        for n in cells:
            chunk = max(10, steps // 5)
            r = spawn("symnet", n, dtype, chunk, 5, core=0)
            rows.append(r)
            print(
                f"| {dtype} | {r['N']} | {1e3 * r['per_step']:.2f} | "
                f"{1e3 * r['per_step_median']:.2f} | {r['first']:.2f} | {r['rebuilds']} | "
                f"{r['maxrss_mb']:.0f} | {r['maxrss_mb'] - r['base_rss_mb']:.1f} |",
                flush=True,
            )
        results[dtype] = rows
        fits[dtype] = fit_exponent([r["N"] for r in rows], [r["per_step"] for r in rows])
    print()
    for dtype, (a, _) in fits.items():
        rows = results[dtype]
        grown = [max(r["maxrss_mb"] - r["base_rss_mb"], 1e-3) for r in rows]
        mem = fit_exponent([r["N"] for r in rows], grown)[0]
        print(
            f"{dtype}: time per step ~ N^{a:.3f} (least squares on log-log); "
            f"peak RSS growth during the run ~ N^{mem:.2f}"
        )
    if path:
        plot(results, fits, path)


def against_jaxmd(
    cells: tuple[int, ...],
    dtypes: tuple[str, ...],
    chunk: int,
    chunks: int,
    sides: tuple[str, ...] = ("symnet", "symnet-kernel", "jax-md"),
) -> None:
    print(f"\n## symnet vs jax-md: {chunk * chunks} steps in chunks of {chunk}, one thread\n")
    print(
        "| N | dtype | side | steps/s (best chunk) | median chunk | vs jax-md | "
        "first chunk / build (s) | rebuilds | dE/E end | max dE/E |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in cells:
        for dtype in dtypes:
            rows = [spawn(side, n, dtype, chunk, chunks, core=0) for side in sides]
            peer = next(r for r in rows if r["side"] == "jax-md")
            for r in rows:
                d, m = drift(r)
                count = r.get("rebuilds", f"{r.get('reallocations', 0)} realloc.")
                print(
                    f"| {r['N']} | {dtype} | {r['side']} | {1 / r['per_step']:.1f} | "
                    f"{1 / r['per_step_median']:.1f} | "
                    f"{peer['per_step'] / r['per_step']:.2f}x | {r['first']:.2f} | {count} | "
                    f"{d:+.2e} | {m:.2e} |",
                    flush=True,
                )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes and few steps")
    p.add_argument("--plot", default="docs/img/md_scaling.png", help="PNG path ('' for none)")
    p.add_argument("--skip-scaling", action="store_true")
    p.add_argument("--skip-jax", action="store_true")
    p.add_argument("--steps", type=int, default=100, help="timed steps per scaling point")
    p.add_argument("--chunk", type=int, default=100, help="steps per chunk against jax-md")
    p.add_argument("--chunks", type=int, default=10, help="chunks against jax-md")
    p.add_argument("--cells", type=int, nargs="*", help="scaling: fcc cells per axis (N = 4 n^3)")
    p.add_argument("--peer-cells", type=int, nargs="*", help="against jax-md: fcc cells per axis")
    p.add_argument("--dtypes", nargs="*", default=["float32", "float64"])
    p.add_argument(
        "--worker", choices=["symnet", "symnet-kernel", "jax-md"], help=argparse.SUPPRESS
    )
    p.add_argument("--dtype", default="float32", help=argparse.SUPPRESS)
    p.add_argument("--core", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[args.core % len(cores)]})
        run = (args.cells[0], args.dtype, args.chunk, args.chunks)
        if args.worker == "jax-md":
            result = jaxmd_worker(*run)
        else:
            result = symnet_worker(*run, kernel=args.worker == "symnet-kernel")
        print(json.dumps(result))
        return
    dtypes = tuple(args.dtypes)
    if not args.skip_scaling:
        cells = tuple(args.cells or (QUICK_CELLS if args.quick else SCALING_CELLS))
        scaling(cells, dtypes, 20 if args.quick else args.steps, args.plot or None)
    if not args.skip_jax:
        cells = tuple(args.peer_cells or ((QUICK_CELLS[0],) if args.quick else PEER_CELLS))
        chunk, chunks = (20, 3) if args.quick else (args.chunk, args.chunks)
        against_jaxmd(cells, dtypes, chunk, chunks)


if __name__ == "__main__":
    main()
