"""Time to solve the equivariant basis of EquivariantLinear (uncached), per rep pair.

Runs the reps of tests/nn/test_equivariant_linear.py: for each, the cache is
cleared and ``equivariant_basis`` solved again; the table reports the median
over repeats and the spread (max - min) of the current solver (closed forms,
factorisation, Gram eigensolver) and, on the same run, the median of the old
dense route (constraint assembly, one SVD, canonicalisation) with the
speed-up. ``--large`` adds S_5 and S_6 acting on N x N matrices (625 and 1296
unknowns) to that table.

A second table holds the rows of issue 17 with their known basis dimensions
(checked, the script fails on a mismatch): S_6 and S_10 on ``P (x) P`` (15 =
Bell(4) for any N >= 4), SO(3) ``T(3) -> T(3)`` (15, the SO(3)-invariants of
rank-6 tensors), the Lorentz group ``T(1) -> T(2, 1)`` (products of metrics:
3 for O(1,3); plus the Levi-Civita tensor: 4 for SO+(1,3)). The dense route is
skipped with a note where it would take well over a minute (S_10: a 20000 x
10000 SVD).

No peer is timed: EMLP (the reference implementation of the method) is a JAX
library, not installed next to symnet's CPU torch, so these are absolute
times on this machine and only comparable within one run.

    .venv/bin/python benchmarks/bench_equivariant_linear.py [--repeats 5] [--large]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from symnet.groups import PermRep, Permutation, Rotation, Scalar, T, Translation, Vector
from symnet.nn import NULLSPACE_RTOL, clear_basis_cache, equivariant_basis
from symnet.nn.equivariant_linear import _solve

SEED, THREADS = 0, 1
#: Unknowns above which the old dense route is not timed (its SVD would take minutes).
DENSE_MAX = 5000


def cases(large: bool) -> list[tuple[str, object, object, object]]:
    SN, SO2, SO3 = Permutation(), Rotation(2), Rotation(3)
    G, E = Rotation(3) * Permutation(), Translation(3) * Rotation(3) * Permutation()

    def P(n, g=SN):  # noqa: N802 - the permutation rep, as in the tests
        return PermRep(g, n)

    V3, V2 = Vector(SO3), Vector(SO2)
    out = [
        ("S_5: P -> P", SN, P(5), P(5)),
        ("S_5: P -> S", SN, P(5), Scalar(SN)),
        ("S_5: S -> P", SN, Scalar(SN), P(5)),
        ("S_3: PP -> PP", SN, P(3) * P(3), P(3) * P(3)),
        ("S_4: PP -> PP", SN, P(4) * P(4), P(4) * P(4)),
        ("S_4: PP -> P", SN, P(4) * P(4), P(4)),
        ("S_4: PP -> S", SN, P(4) * P(4), Scalar(SN)),
        ("S_4: P 2S -> P 3S", SN, P(4) * (2 * Scalar(SN)), P(4) * (3 * Scalar(SN))),
        ("SO(3): V -> V", SO3, V3, V3),
        ("SO(3): VV -> S", SO3, V3 * V3, Scalar(SO3)),
        ("SO(3): VV -> V", SO3, V3 * V3, V3),
        ("SO(3): VV -> VV", SO3, V3 * V3, V3 * V3),
        ("SO(3): VVV -> S", SO3, V3**3, Scalar(SO3)),
        ("SO(3): V+S -> V+S", SO3, V3 + Scalar(SO3), V3 + Scalar(SO3)),
        ("SO(2): V -> V", SO2, V2, V2),
        ("SO(2): VV -> S", SO2, V2 * V2, Scalar(SO2)),
        ("SO(3)xS_4: PV -> PV", G, P(4, G) * Vector(G), P(4, G) * Vector(G)),
        ("SO(3)xS_4: PV -> V", G, P(4, G) * Vector(G), Vector(G)),
        ("E(3)xS_3: PV -> PV", E, P(3, E) * Vector(E), P(3, E) * Vector(E)),
    ]
    if large:
        out += [
            ("S_5: PP -> PP", SN, P(5) * P(5), P(5) * P(5)),
            ("S_6: PP -> PP", SN, P(6) * P(6), P(6) * P(6)),
        ]
    return out


def issue_cases() -> list[tuple[str, object, object, object, int]]:
    """The rows of issue 17, with their known basis dimensions."""
    from symnet.groups import Lorentz  # added with issue 17

    SN, SO3, L, Lp = Permutation(), Rotation(3), Lorentz(), Lorentz(proper=True)
    P6, P10 = PermRep(SN, 6), PermRep(SN, 10)
    return [
        ("S_6: PP -> PP", SN, P6 * P6, P6 * P6, 15),
        ("S_10: PP -> PP", SN, P10 * P10, P10 * P10, 15),
        ("SO(3): T(3) -> T(3)", SO3, T(3, group=SO3), T(3, group=SO3), 15),
        ("O(1,3): T(1) -> T(2,1)", L, T(1, group=L), T(2, 1, group=L), 3),
        ("SO+(1,3): T(1) -> T(2,1)", Lp, T(1, group=Lp), T(2, 1, group=Lp), 4),
    ]


def time_solve(group, rep_in, rep_out, repeats: int) -> tuple[int, list[float]]:
    clear_basis_cache()
    k = equivariant_basis(group, rep_in, rep_out).shape[0]  # warm-up (untimed)
    times = []
    for _ in range(repeats):
        clear_basis_cache()
        t0 = time.perf_counter()
        equivariant_basis(group, rep_in, rep_out)
        times.append(time.perf_counter() - t0)
    return k, times


def time_dense(group, rep_in, rep_out, repeats: int) -> tuple[int, float] | None:
    """The old route (one SVD of the whole constraint matrix): basis size, median seconds."""
    if rep_in.dim * rep_out.dim > DENSE_MAX:
        return None
    times, k = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        k = _solve(group, rep_in, rep_out, NULLSPACE_RTOL, route="dense").shape[0]
        times.append(time.perf_counter() - t0)
    return k, statistics.median(times)


def row(name, group, rep_in, rep_out, args) -> tuple[int, str]:
    k, times = time_solve(group, rep_in, rep_out, args.repeats)
    med = 1e3 * statistics.median(times)
    spread = 1e3 * (max(times) - min(times))
    dense = time_dense(group, rep_in, rep_out, args.old_repeats)
    if dense is None:
        old = f"{'skipped':>10} {'':>8}"
    else:
        if dense[0] != k:
            raise RuntimeError(f"{name}: dense route found {dense[0]} maps, fast route {k}")
        old = f"{1e3 * dense[1]:>10.2f} {dense[1] / max(med * 1e-3, 1e-9):>7.1f}x"
    n = rep_in.dim * rep_out.dim
    return k, f"{name:<26} {n:>8} {k:>5} {med:>10.2f} {spread:>8.2f} {old}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old-repeats", type=int, default=1, help="repeats of the dense route")
    parser.add_argument("--large", action="store_true", help="add S_5 and S_6 on N x N")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}, threads={THREADS}, seed={SEED}, repeats={args.repeats}")
    print("uncached basis solve of EquivariantLinear: new route vs the old dense SVD\n")
    head = (
        f"{'group: rep_in -> rep_out':<26} {'unknowns':>8} {'basis':>5} "
        f"{'new ms':>10} {'spread':>8} {'old ms':>10} {'speedup':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, group, rep_in, rep_out in cases(args.large):
        print(row(name, group, rep_in, rep_out, args)[1])
    print("\nissue 17 rows (basis dimension checked against the known count)\n")
    print(head + f" {'known':>6}")
    print("-" * (len(head) + 7))
    for name, group, rep_in, rep_out, known in issue_cases():
        k, line = row(name, group, rep_in, rep_out, args)
        print(f"{line} {known:>6}")
        if k != known:
            raise RuntimeError(f"{name}: basis dimension {k}, known {known}")
    print(f"\n'skipped': the dense route is not timed above {DENSE_MAX} unknowns (minutes).")


if __name__ == "__main__":
    main()
