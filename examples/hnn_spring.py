"""HNN vs Baseline on the mass-spring of Greydanus et al. (2019), with their recipe.

Data: ``MassSpring().hnn_dataset()``: H = q^2 + p^2, 50 trajectories, t in
[0, 3] with 30 points, phase-space radius ~ U[0.1, 1], Gaussian noise 0.1 on
the observed states, exact time derivatives as targets. Models: an MLP of
200 tanh units (2 hidden layers) as the Hamiltonian (HNN) or as the map
(q, p) -> (dq/dt, dp/dt) (Baseline); 2000 full-batch Adam steps at 1e-3.

Evaluation: 25 held-out initial states (a fresh draw), each model integrated
with RK4 (dt = 0.01) for 20 time units; the true energy H = q^2 + p^2 along
the predicted trajectory against along the true one (energy MSE), also over
the dataset's own span [0, 3] (the paper's number).

Run: ``python examples/hnn_spring.py`` (about a minute); with
``SYMNET_EXAMPLE_SMALL=1`` a few seconds.
"""

from __future__ import annotations

import os

import torch

import symnet.models as sm
from symnet.systems import MassSpring

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL", "") not in ("", "0")


def main() -> None:
    """Train both models, evaluate held-out rollouts, print the energy MSEs."""
    torch.set_num_threads(1)
    system = MassSpring()
    n_traj, steps, hidden = (10, 100, 32) if SMALL else (50, 2000, 200)
    horizons = (3.0, 6.0) if SMALL else (3.0, 20.0)
    train_data = system.hnn_dataset(n_traj=n_traj, rng=0)
    test_data = system.hnn_dataset(n_traj=25, noise=0.0, rng=1)
    q0, p0 = test_data.q_true[0], test_data.p_true[0]

    results = {}
    for name, make in (
        (
            "Baseline",
            lambda: sm.Baseline(config_shape=(1,), hidden=hidden, output="time_derivative"),
        ),
        ("HNN", lambda: sm.HNN(config_shape=(1,), hidden=hidden)),
    ):
        torch.manual_seed(0)
        model = make()
        hist = sm.train(
            model,
            train_data,
            steps=steps,
            batch_size=None,
            rng=0,
            optimization=sm.Optimization(lr=1e-3),
        )
        row = {"train_loss": hist.train_loss[-1]}
        for horizon in horizons:
            kw = {"dt": 0.1, "steps": int(round(horizon / 0.1)), "substeps": 10}
            pred = sm.simulate(model, q0.float(), p0.float(), **kw)
            true = _true_rollout(system, q0, p0, **kw)
            drift = sm.energy_drift(system.hamiltonian, (pred.q.double(), pred.v.double()), true)
            row[horizon] = drift.mse
        results[name] = row
        print(
            f"{name:<9} train MSE {row['train_loss']:.2e}   energy MSE over [0, 3]: "
            f"{row[3.0]:.2e}   over [0, {horizons[1]:g}]: {row[horizons[1]]:.2e}"
        )
    ratio = results["Baseline"][horizons[1]] / results["HNN"][horizons[1]]
    print(f"Baseline / HNN energy MSE over [0, {horizons[1]:g}]: {ratio:.0f}x")
    print("Published (Greydanus et al. 2019, spring): baseline 1.71e-1, HNN 3.84e-4")
    if not SMALL:
        assert ratio >= 10, f"the HNN should be at least 10x better, got {ratio:.1f}x"


def _true_rollout(
    system: MassSpring, q0: torch.Tensor, p0: torch.Tensor, *, dt: float, steps: int, **_: object
) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact solution of H = p^2/(2m) + k q^2/2 on the grid k dt: (q, p) of shape (K, B, 1)."""
    w = (system.k / system.m) ** 0.5
    t = dt * torch.arange(steps + 1, dtype=torch.float64)[:, None, None]
    c, s = torch.cos(w * t), torch.sin(w * t)
    q = q0 * c + p0 / (system.m * w) * s
    p = p0 * c - system.m * w * q0 * s
    return q, p


if __name__ == "__main__":
    main()
