"""Noether's theorem, checked: which charges a Lagrangian conserves, and why.

Two analytic systems from ``symnet.systems``:

1. two particles joined by a spring: translations, rotations, time shifts and
   Galilean boosts are symmetries, so momentum, angular momentum, energy and
   the centre-of-mass charge ``K = P t - sum m q`` must all be ``conserved``;
2. one particle in a central potential: rotations and time shifts are
   symmetries, translations are not, so the momentum must come out
   ``broken``, its drift explained by the balance law
   ``P(t) - P(0) = integral of -dV/dx``.

The checker integrates each system with its closed-form acceleration (pass
``field=None`` to use the Euler-Lagrange equations of ``L`` by autodiff, as for
a learned Lagrangian), prints the reports and writes a plot of the charges to
``noether_charges.png`` in the current directory.

Run with ``SYMNET_EXAMPLE_SMALL=1`` for a few-second version.
"""

from __future__ import annotations

import os

import torch

import symnet as sn
from symnet.groups import Boost, Rotation, TimeShift, Translation

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
BATCH, STEPS, DT = (4, 50, 0.02) if SMALL else (16, 500, 0.01)


def main() -> None:
    """Check the two systems, print the reports, plot the central potential's charges."""
    torch.set_num_threads(1)  # tiny tensors: threads only add overhead
    rng = torch.Generator().manual_seed(0)

    # 1. The two-body spring: every charge is conserved.
    spring = sn.systems.TwoBodySpring(m1=1.0, m2=2.0, k=3.0)
    q, qdot = spring.sample_states(BATCH, rng)
    group = Translation(3) * Rotation(3) * TimeShift() * Boost(3, spring.masses)
    report = sn.noether.check(
        spring.lagrangian, group, q, qdot, dt=DT, steps=STEPS, field=spring.acceleration
    )
    print(report, end="\n\n")
    assert report.all_conserved, "the spring conserves P, L, E and K"

    # The same in one line, as a unit test would do it (raises AssertionError otherwise).
    sn.testing.assert_conserved(
        spring.lagrangian, group, q, qdot, dt=DT, steps=STEPS, field=spring.acceleration
    )

    # 2. A central potential: momentum is broken, angular momentum and energy are not.
    central = sn.systems.CentralPotential()
    q, qdot = central.sample_states(BATCH, rng)
    report = sn.noether.check(
        central.lagrangian,
        Translation(3) * Rotation(3) * TimeShift(),
        q,
        qdot,
        dt=DT,
        steps=STEPS,
        field=central.acceleration,
    )
    print(report, end="\n\n")
    verdicts = report.verdicts
    assert all(verdicts[f"translation_{a}"] == "broken" for a in "xyz")
    assert all(verdicts[f"rotation_{a}"] == "conserved" for a in "xyz")
    assert verdicts["time"] == "conserved"

    path = report.plot("noether_charges.png")
    print(f"charges plotted to {path}")


if __name__ == "__main__":
    main()
