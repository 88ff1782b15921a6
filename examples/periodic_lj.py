"""What a periodic box does to Noether: a Lennard-Jones fluid and a learned potential.

1. A Lennard-Jones fluid in a periodic box (``symnet.systems.LennardJones``,
   force-shifted, neighbour lists inside): the checker must call the momentum
   (translations of the torus), the energy (time) and the permutations
   ``conserved``, and the angular momentum ``broken`` -- the box has
   preferred axes, and the change of ``L`` is the torque of the minimum-image
   forces, which the balance law accounts for.
2. A pair-MLP potential (``symnet.nn.PairPotential``) trained briefly on the
   fluid's forces: the same verdicts, whatever the quality of the fit, since
   they come from the architecture.
3. The same potential with a leak of the absolute position,
   ``E + eps sum_i sin(2 pi x_i / L_x)``: periodic, so it survives every
   wrap, but it is not translation invariant. The checker calls the momentum
   along x ``broken``, its drift explained by the balance law.

Run with ``SYMNET_EXAMPLE_SMALL=1`` for a few-second version (N = 32 instead
of N = 256).
"""

from __future__ import annotations

import math
import os

import torch

import symnet as sn
from symnet.groups import PeriodicBox, Permutation, Rotation, TimeShift, Translation
from symnet.nn import PairPotential
from symnet.systems import LennardJones

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
# N particles in a cubic box of side SIDE (the box must hold the 2.5 cutoff twice)
N, SIDE, STEPS, EPOCHS = (32, 5.2, 40, 60) if SMALL else (256, 6.7177, 100, 150)
DT = 0.005


def fluid_and_check() -> LennardJones:
    """The Lennard-Jones fluid and its report."""
    lj = LennardJones(N, PeriodicBox(SIDE, dim=3), shift="force")
    q, v = lj.sample_states(2, rng=0)
    # separate symmetries: a boxed translation cannot be multiplied with rotations
    symmetries = [Translation(3, box=lj.box), Rotation(3), Permutation(), TimeShift()]
    report = sn.noether.check(
        lj.lagrangian, symmetries, q, v, dt=DT, steps=STEPS, method="leapfrog",
        field=lj.acceleration,
    )  # fmt: skip
    print(report, end="\n\n")
    _expect(report, broken_translations=())
    return lj


def train(lj: LennardJones) -> PairPotential:
    """A pair-MLP fitted to the fluid's forces (Adam, float64)."""
    q, _ = lj.sample_states(16 if SMALL else 4, rng=1)  # 512 or 1024 particles
    q = q + 0.05 * torch.randn(q.shape, generator=torch.Generator().manual_seed(2), dtype=q.dtype)
    F = lj.forces(q)
    torch.manual_seed(0)
    pot = PairPotential(lj.cutoff, box=lj.box, hidden=(32, 32), mass=lj.m).double()
    opt = torch.optim.Adam(pot.parameters(), lr=1e-2)
    for epoch in range(EPOCHS):
        opt.zero_grad()
        loss = (pot.forces(q, create_graph=True) - F).square().mean() / F.square().mean()
        loss.backward()
        opt.step()
        if epoch % 20 == 0 or epoch == EPOCHS - 1:
            print(f"epoch {epoch:3d}: relative force error {loss.item():.2e}")
    print()
    return pot


def check_learned(lj: LennardJones, pot: PairPotential, eps: float = 0.0) -> None:
    """Check the learned potential, with a leak of strength ``eps`` along x."""
    k = 2.0 * math.pi / float(lj.box.lengths[0])

    def lagrangian(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        return pot.lagrangian(q, qdot) - eps * torch.sin(k * q[..., 0]).sum(-1)

    def acceleration(q: torch.Tensor, qdot: torch.Tensor, t: object = None) -> torch.Tensor:
        a = pot.acceleration(q, qdot)
        push = -eps * k * torch.cos(k * q[..., 0]) / pot.mass
        return a + torch.stack([push, torch.zeros_like(push), torch.zeros_like(push)], -1)

    q, v = lj.sample_states(2, rng=5)
    symmetries = [Translation(3, box=lj.box), Rotation(3), Permutation(), TimeShift()]
    report = sn.noether.check(
        lagrangian, symmetries, q, v, dt=DT, steps=STEPS, method="leapfrog", field=acceleration
    )
    print(report, end="\n\n")
    _expect(report, broken_translations=("translation_x",) if eps else ())


def _expect(report: sn.noether.NoetherReport, broken_translations: tuple[str, ...]) -> None:
    for row in report.rows:
        if row.generator.startswith("rotation") or row.generator in broken_translations:
            want = "broken"
        else:
            want = "conserved"
        assert row.verdict == want, f"{row.generator}: {row.verdict} ({row.reason})"
        if want == "broken":  # the balance law explains the change
            assert row.balance_residual < 1e-2 * row.drift_half, row.reason


def main() -> None:
    """The fluid, the learned potential, and its leak."""
    torch.set_num_threads(1)
    lj = fluid_and_check()
    pot = train(lj)
    check_learned(lj, pot)
    check_learned(lj, pot, eps=0.05)
    print("momentum and energy conserved, angular momentum broken by the box; leak caught")


if __name__ == "__main__":
    main()
