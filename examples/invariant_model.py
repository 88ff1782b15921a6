"""Learn the energy of a spring system with an invariant model, then prove its invariance.

Data: states ``(q, qdot)`` of ``symnet.systems.NBodySprings`` (5 particles in
3-D, every pair joined by a spring of rest length 1) from its
``sample_states``, with the exact energy ``E = T + V`` as target. The energy is
invariant under translations, rotations and permutations of the particles, and
so is the model by construction:

    InvariantFeatures (per particle: speed |v_i|, and the distances |x_i - x_j|
    and dot products to the other particles, each sorted)  ->  DeepSets
    (phi per particle, summed, rho)  ->  E

It trains for a few hundred Adam steps, prints the train and test errors, and
ends with ``assert_invariant`` under Translation(3) x Rotation(3) x
Permutation(), in float64, on finite elements and on the Lie algebra. A plain
MLP on the raw coordinates, trained the same way, is shown to fail the same
check.

Run: ``.venv/bin/python examples/invariant_model.py`` (``SYMNET_EXAMPLE_SMALL=1``
for a few steps only).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor, nn

from symnet.groups import Permutation, Rotation, Translation
from symnet.nn import DeepSets, InvariantFeatures
from symnet.systems import NBodySprings
from symnet.testing import assert_invariant

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"


class EnergyModel(nn.Module):
    """``E(q, qdot)``: invariant features per particle, then Deep Sets.

    Shapes: positions and velocities ``(B, N, d)`` in, energies ``(B,)`` out.
    """

    def __init__(self, n_particles: int, hidden: int = 64) -> None:
        super().__init__()
        self.features = InvariantFeatures(squared=False, output="particle", pooling="sorted")
        n_features = len(self.features.feature_names(velocities=True, n_particles=n_particles))
        self.deep_sets = DeepSets(n_features, hidden, 1, reduction="sum")
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, q: Tensor, qdot: Tensor) -> Tensor:
        """Energies ``(B,)`` of states ``q, qdot`` of shape ``(B, N, d)``."""
        return self.deep_sets(self.features(q, qdot))[..., 0] * self.scale + self.shift


class RawMLP(nn.Module):
    """A baseline on raw coordinates: no symmetry at all."""

    def __init__(self, n_particles: int, dim: int, hidden: int = 64) -> None:
        super().__init__()
        n_in = 2 * n_particles * dim
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
            nn.Linear(hidden, 1),
        )  # fmt: skip
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("shift", torch.zeros(()))

    def forward(self, q: Tensor, qdot: Tensor) -> Tensor:
        """Energies ``(B,)``."""
        x = torch.cat([q.flatten(-2), qdot.flatten(-2)], -1)
        return self.net(x)[..., 0] * self.scale + self.shift


def train(model: nn.Module, data: tuple[Tensor, ...], steps: int, seed: int) -> None:
    """Adam on the mean squared error of the energy, minibatches of 128."""
    q, qdot, energy = data
    model.scale.fill_(float(energy.std()))
    model.shift.fill_(float(energy.mean()))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, q.shape[0], (128,), generator=gen)
        loss = (model(q[idx], qdot[idx]) - energy[idx]).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def relative_rmse(model: nn.Module, q: Tensor, qdot: Tensor, energy: Tensor) -> float:
    """RMSE of the energy divided by its standard deviation (1 = predicting the mean)."""
    with torch.no_grad():
        return float((model(q, qdot) - energy).square().mean().sqrt() / energy.std())


def main() -> None:
    """Generate data, train both models, report errors, check invariance."""
    torch.manual_seed(0)
    system = NBodySprings(N=5, dim=3, k=1.0, l0=1.0)
    gen = torch.Generator().manual_seed(0)
    n_train, n_test, steps = (256, 128, 30) if SMALL else (4000, 1000, 800)
    q, qdot = system.sample_states(n_train + n_test, rng=gen)
    energy = system.energy(q, qdot)
    q, qdot, energy = q.float(), qdot.float(), energy.float()
    train_data = (q[:n_train], qdot[:n_train], energy[:n_train])
    test_data = (q[n_train:], qdot[n_train:], energy[n_train:])
    print(f"{system}: {n_train} training and {n_test} test states, {steps} Adam steps")

    models = {"invariant": EnergyModel(system.N), "raw MLP": RawMLP(system.N, system.dim)}
    for name, model in models.items():
        train(model, train_data, steps, seed=1)
        tr, te = relative_rmse(model, *train_data), relative_rmse(model, *test_data)
        print(f"  {name:9s}  relative RMSE  train {tr:.3f}  test {te:.3f}")
        assert tr == tr and te == te, "training diverged"  # not NaN
    if not SMALL:
        assert relative_rmse(models["invariant"], *test_data) < 0.5, (
            "the invariant model did not learn"
        )

    G = Translation(3) * Rotation(3) * Permutation()
    check_q, check_qdot = q[:8], qdot[:8]
    report = assert_invariant(models["invariant"], G, (check_q, check_qdot), ("point", "vector"))
    print(f"\n{report}")
    try:
        assert_invariant(models["raw MLP"], G, (check_q, check_qdot), ("point", "vector"))
    except AssertionError as err:
        print(f"\nthe raw MLP is not invariant, as expected:\n  {str(err).splitlines()[0]}")
    else:
        raise SystemExit("the raw MLP passed an invariance check: the check is broken")


if __name__ == "__main__":
    main()
