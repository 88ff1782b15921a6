"""Lorentz symmetry, checked: a relativistic free particle conserves its six Lorentz charges.

A free particle in special relativity, parametrised by an affine parameter
``tau`` (proper time up to a factor), has the Lagrangian

    L(x, xdot) = (m / 2) eta(xdot, xdot),   eta = diag(1, -1, -1, -1),

on 4-vectors ``x = (ct, x, y, z)``: a configuration of one "particle" in four
dimensions, shape ``(1, 4)``. ``L`` is invariant under the Lorentz group, so
Noether's theorem gives six conserved charges ``Q = p . (A x)``, ``p = m eta
xdot``: the boosts' ``K_i = m (xdot^0 x^i - x^0 xdot^i)`` (the uniform motion
of the "centre of energy") and the angular momenta ``L_i``. A
Lorentz-invariant potential ``V(eta(x, x))`` keeps all six; a potential of
``|x_spatial|`` alone (a preferred rest frame) breaks the boosts and keeps
the rotations. The checker says so: ``conserved`` and ``broken``, each
broken drift explained by its balance law.

Run with ``SYMNET_EXAMPLE_SMALL=1`` for a few-second version.
"""

from __future__ import annotations

import os

import torch

import symnet as sn
from symnet.groups import Lorentz

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
BATCH, STEPS, DT = (3, 20, 0.02) if SMALL else (16, 400, 0.01)
MASS = 1.3
ETA = Lorentz.metric()


def minkowski(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``eta(a, b)`` for 4-vectors of shape ``(B, 1, 4)``, shape ``(B,)``."""
    return torch.einsum("bi,ij,bj->b", a[:, 0], ETA.to(a), b[:, 0])


def free_particle(x: torch.Tensor, xdot: torch.Tensor) -> torch.Tensor:
    """``(m / 2) eta(xdot, xdot)``."""
    return 0.5 * MASS * minkowski(xdot, xdot)


def interacting(x: torch.Tensor, xdot: torch.Tensor) -> torch.Tensor:
    """The free particle in a Lorentz-invariant well ``V(s)``, ``s = eta(x, x)``."""
    s = minkowski(x, x)
    return free_particle(x, xdot) - 0.2 * s / (1 + s**2)


def preferred_frame(x: torch.Tensor, xdot: torch.Tensor) -> torch.Tensor:
    """The mutant: a harmonic well in space only, ``V = k |x_spatial|^2 / 2``."""
    return free_particle(x, xdot) - 0.3 * (x[:, 0, 1:] ** 2).sum(-1)


def main() -> None:
    """Check the three Lagrangians against O(1,3) and print the reports."""
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, 1, 4, generator=rng, dtype=torch.float64)
    xdot = torch.randn(BATCH, 1, 4, generator=rng, dtype=torch.float64)
    G = Lorentz()

    for L in (free_particle, interacting):
        report = sn.noether.check(L, G, x, xdot, dt=DT, steps=STEPS)
        print(f"{L.__name__}:\n{report}\n")
        assert report.all_conserved, "the six Lorentz charges are conserved"

    report = sn.noether.check(preferred_frame, G, x, xdot, dt=DT, steps=STEPS)
    print(f"preferred_frame:\n{report}\n")
    verdicts = report.verdicts
    assert all(verdicts[f"boost_{a}"] == "broken" for a in "xyz"), verdicts
    assert all(verdicts[f"rotation_{a}"] == "conserved" for a in "xyz"), verdicts

    # The same symmetry as a property of a function: the Minkowski norm is invariant,
    # the Euclidean one is not.
    sn.testing.assert_invariant(lambda v: minkowski(v, v), G, xdot, "vector")
    try:
        sn.testing.assert_invariant(lambda v: (v**2).sum((-1, -2)), G, xdot, "vector")
    except AssertionError:
        print("the Euclidean norm |xdot|^2 is not Lorentz invariant, as expected")
    else:  # pragma: no cover - would be a bug
        raise SystemExit("the Euclidean norm passed a Lorentz invariance check")


if __name__ == "__main__":
    main()
