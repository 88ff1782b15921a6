"""Time to solve the equivariant basis of EquivariantLinear (uncached), per rep pair.

Runs the reps of tests/nn/test_equivariant_linear.py: for each, the cache is
cleared and ``equivariant_basis`` solved again (constraint assembly, SVD,
canonicalisation); the table reports the median over repeats and the spread
(max - min). ``--large`` adds S_5 and S_6 acting on N x N matrices (625 and
1296 unknowns).

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

from symnet.groups import PermRep, Permutation, Rotation, Scalar, Translation, Vector
from symnet.nn import clear_basis_cache, equivariant_basis

SEED, THREADS = 0, 1


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", action="store_true", help="add S_5 and S_6 on N x N")
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(THREADS)
    print(f"torch {torch.__version__}, threads={THREADS}, seed={SEED}, repeats={args.repeats}")
    print("uncached basis solve of EquivariantLinear (constraints + SVD + canonical form)\n")
    head = (
        f"{'group: rep_in -> rep_out':<26} {'unknowns':>8} {'basis':>5} "
        f"{'median ms':>10} {'spread':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, group, rep_in, rep_out in cases(args.large):
        k, times = time_solve(group, rep_in, rep_out, args.repeats)
        med = 1e3 * statistics.median(times)
        spread = 1e3 * (max(times) - min(times))
        print(f"{name:<26} {rep_in.dim * rep_out.dim:>8} {k:>5} {med:>10.2f} {spread:>8.2f}")


if __name__ == "__main__":
    main()
