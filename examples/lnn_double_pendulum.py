"""LNN vs Baseline on the double pendulum, after Cranmer et al. (2020).

System: m1 = m2 = l1 = l2 = 1, g = 9.8 (:class:`symnet.systems.DoublePendulum`).
Training: states drawn fresh at every step (angles ~ U[0, 2 pi), angular
velocities ~ U[-10, 10]), targets the analytic accelerations, L1 loss, Adam
with a cosine learning-rate decay. The angles enter every network as
``(cos theta, sin theta)`` (``periodic=True``: rollouts that wind around stay
in the training domain). The LNN is structured, ``L = 1/2 thetadot^T M(theta)
thetadot - V(theta)`` with ``M = A A^T + eps I`` (softplus MLPs for ``A`` and
``V``); the Baseline is a softplus MLP of ``(cos, sin, thetadot)`` to the two
accelerations. ``--unstructured`` trains the paper's form instead, ``L`` an
MLP of the state (in this budget it does not learn; see docs/models.md).

Evaluation: 40 initial states released from rest (angles ~ U[0, 2 pi),
energies in [-29.4, 29.4]), every model integrated for 100 s with RK4 at
dt = 0.01 and recorded every 0.1 s; the energy error at the final time,
``|E(pred, 100 s) - E(true, 100 s)| / 29.4`` (29.4 = the maximum potential
energy), averaged over the 40 states; and the chaos floor (two true
trajectories 1e-9 apart).

Run: ``python examples/lnn_double_pendulum.py [--hidden 128] [--steps 10000]``;
``SYMNET_EXAMPLE_SMALL=1`` runs a tiny version in seconds. The paper's MLP is
600 x 3 trained for 600k steps on a GPU; see docs/models.md for the size run
here and its numbers.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import Tensor

import symnet.models as sm
from symnet.systems import DoublePendulum

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL", "") not in ("", "0")


def main() -> None:
    """Train both models on fresh states, evaluate 100 s rollouts, print the energy errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--ics", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=100.0)
    parser.add_argument("--unstructured", action="store_true")
    parser.add_argument("--models", default="LNN,Baseline", help="comma-separated subset")
    args = parser.parse_args()
    if SMALL:
        args.hidden, args.layers, args.steps, args.ics, args.seconds = 16, 2, 20, 4, 2.0
    torch.set_num_threads(1)
    system = DoublePendulum()

    def fresh(n: int, generator: torch.Generator) -> dict[str, Tensor]:
        q, qdot = system.sample_states(n, generator)
        return {"q": q, "qdot": qdot, "qddot": system.acceleration(q, qdot)}

    gen = torch.Generator().manual_seed(123)
    q0 = 2 * torch.pi * torch.rand(args.ics, 2, generator=gen, dtype=torch.float64)
    v0 = torch.zeros_like(q0)
    steps = int(round(args.seconds / 0.1))
    kw = {"dt": 0.1, "steps": steps, "substeps": 10}
    true = sm.simulate(system, q0, v0, **kw)
    floor = sm.chaos_floor(system, q0, v0, eps=1e-9, rng=gen, **kw)
    truth_drift = (system.energy(true.q[-1], true.v[-1]) - system.energy(q0, v0)).abs()
    print(
        f"truth: RK4 energy error at {args.seconds:g} s: {float(truth_drift.mean()) / 29.4:.1e} "
        f"of 29.4; chaos floor (eps 1e-9) state error at the end: {float(floor[-1].mean()):.2f}"
    )
    form = "unstructured" if args.unstructured else "structured"
    print(
        f"models: MLPs {args.hidden}x{args.layers} softplus ({form} LNN), {args.steps} steps of "
        f"{args.batch}, lr {args.lr:g} (cosine)"
    )
    # weights from torch's default generator (deterministic: its seed is fixed at start-up)
    size = {"hidden": args.hidden, "layers": args.layers, "periodic": True}
    lnn = sm.LNN(config_shape=(2,), structured=not args.unstructured, **size)
    base = sm.Baseline(config_shape=(2,), activation="softplus", **size)
    chosen = args.models.split(",")
    for name, model in [(n, m) for n, m in (("LNN", lnn), ("Baseline", base)) if n in chosen]:
        torch.manual_seed(0)
        t0 = time.perf_counter()
        hist = sm.train(
            model,
            fresh,
            steps=args.steps,
            steps_per_epoch=100,
            batch_size=args.batch,
            loss="l1",
            rng=0,
            val_data=fresh,
            optimization=sm.Optimization(lr=args.lr, schedule="cosine"),
        )
        t_train = time.perf_counter() - t0
        pred = sm.simulate(model, q0.float(), v0.float(), on_nonfinite="nan", **kw)
        drift = sm.energy_drift(
            system.energy, (pred.q.double(), pred.v.double()), true, scale=system.potential_max
        )
        err = sm.state_error((pred.q.double(), pred.v.double()), true)
        final = drift.final_relative
        diverged = int((~torch.isfinite(final)).sum())
        final = torch.where(torch.isfinite(final), final, torch.full_like(final, float("inf")))
        print(
            f"{name:<9} val L1 {hist.val_loss[-1]:.3f} (train {t_train:.0f} s)   final energy "
            f"error / 29.4: mean {float(final.mean()):.2%}, median {float(final.median()):.2%}"
            f"{f' ({diverged} of {len(final)} rollouts diverged)' if diverged else ''}   "
            f"state error at 1 s: {float(err[min(10, steps)].mean()):.2e}"
        )
    print("Published (Cranmer et al. 2020): LNN about 0.4%, Baseline about 7%")


if __name__ == "__main__":
    main()
