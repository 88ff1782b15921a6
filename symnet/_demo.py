"""The foundation tour that ``symnet demo`` prints: groups and symmetry tests.

Builds E(3) x S_N, lists its generators, and checks four functions of N
particles with :func:`symnet.testing.assert_invariant` and
:func:`symnet.testing.assert_equivariant`: two symmetric ones pass, two
deliberately broken ones fail with a message that names the culprit. Runs in
a few seconds on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from symnet.groups import Permutation, Rotation, Translation
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant

__all__ = ["main"]

_WIDTH = 78


def _pairs(q: Tensor) -> Tensor:
    """``q_i - q_j`` for ``i < j``: ``(B, N, 3) -> (B, N (N - 1) / 2, 3)``."""
    i, j = torch.triu_indices(q.shape[-2], q.shape[-2], 1)
    return q[..., i, :] - q[..., j, :]


def pair_distances(q: Tensor) -> Tensor:
    """``sum_{i<j} |q_i - q_j|``: ``(B, N, 3) -> (B,)``."""
    return _pairs(q).norm(dim=-1).sum(-1)


def field_potential(q: Tensor) -> Tensor:
    """Pair distances plus a uniform field along z, ``sum_i g z_i``: ``(B, N, 3) -> (B,)``."""
    return pair_distances(q) + 0.3 * q[..., 2].sum(-1)


def ordered_sum(q: Tensor) -> Tensor:
    """``sum_i w_i |q_i - q_cm|^2`` with distinct weights ``w_i``: ``(B, N, 3) -> (B,)``."""
    w = torch.linspace(1.0, 2.0, q.shape[-2], dtype=q.dtype)
    return (w * ((q - q.mean(-2, keepdim=True)) ** 2).sum(-1)).sum(-1)


def centre_of_mass(q: Tensor) -> Tensor:
    """``(B, N, 3) -> (B, 1, 3)``, a point."""
    return q.mean(-2, keepdim=True)


def _rule(title: str) -> None:
    print()
    print(title)
    print("=" * min(len(title), _WIDTH))


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _check(title: str, run: Callable[[], object], expect_pass: bool) -> bool:
    """Run one check, print its verdict and table; True when it went as expected."""
    try:
        report = run()
    except SymmetryAssertionError as err:
        verdict = "FAIL (as expected)" if not expect_pass else "FAIL (unexpected!)"
        print(f"\n  [{verdict}] {title}")
        print(_indent(str(err)))
        return not expect_pass
    verdict = "PASS" if expect_pass else "PASS (unexpected!)"
    print(f"\n  [{verdict}] {title}")
    print(_indent(str(report)))
    return expect_pass


def main() -> int:
    """Print the tour; return 0 when every check came out as expected, else 1."""
    gen = torch.Generator().manual_seed(0)
    N = 5
    q = torch.randn(4, N, 3, generator=gen, dtype=torch.float64)  # B = 4 configurations

    _rule("symnet: define a symmetry once, test any model against it")
    G = Translation(3) * Rotation(3) * Permutation()
    print(f"\n  G = Translation(3) * Rotation(3) * Permutation()\n    = {G!r}   (E(3) x S_N)")
    print(f"\n  Lie algebra generators for N = {N} particles in 3-D, with xi at q_0 = (1, 2, 3):")
    q0 = torch.tensor([[[1.0, 2.0, 3.0]]], dtype=torch.float64)
    for g in G.generators((N, 3)):
        xi = ", ".join(f"{v:+.0f}" for v in g.xi(q0)[0, 0].tolist())
        print(f"    {g.name:<14} of {g.group!r:<14} xi(q_0) = ({xi})")
    names = ", ".join(name for name, _ in G.discrete_generators((N, 3)))
    print(f"  discrete generators: {names}")

    _rule("Symmetry tests: finite elements + one jvp per generator, float64, relative errors")
    opts = {"n_samples": 3, "generator": gen}
    results = [
        _check(
            "sum of pairwise distances is invariant under E(3) x S_N",
            lambda: assert_invariant(pair_distances, G, q, "point", **opts),
            expect_pass=True,
        ),
        _check(
            "an external field along z breaks translation_z and the rotations about x and y",
            lambda: assert_invariant(field_potential, G, q, "point", **opts),
            expect_pass=False,
        ),
        _check(
            "an order-dependent sum breaks the permutations",
            lambda: assert_invariant(ordered_sum, G, q, "point", **opts),
            expect_pass=False,
        ),
        _check(
            "the centre of mass is equivariant (point -> point)",
            lambda: assert_equivariant(centre_of_mass, G, q, "point", "point", **opts),
            expect_pass=True,
        ),
    ]
    ok = all(results)
    print()
    print("All checks came out as expected." if ok else "Some checks did not come out as expected!")
    print("Next: symnet.testing in your own tests (fixtures: symnet_generator, symnet_tolerances).")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
