"""Unconstrained vs symmetric LNN on N-body springs in 3-D, checked with Noether's theorem.

System: :class:`symnet.systems.NBodySprings` (N = 4, d = 3, every pair joined by
a spring k = 1, l0 = 1). Training data: states drawn from the system's
distribution, targets the analytic accelerations, shared by all models.

Models (all trained with the same data, seed and optimizer):

- ``plain``: :class:`symnet.models.LNN` with ``structured=True,
  mass="constant"``: ``L = 1/2 qdot^T M qdot - V(q)``, ``V`` an MLP of the
  12 raw coordinates, ``M`` a learned positive-definite matrix; no symmetry
  is built in;
- ``symmetric``: :class:`symnet.models.SymmetricLNN`, ``L = 1/2 m |qdot|^2 -
  V(q)`` with ``V`` a Deep Set of pair distances: invariant under
  translations, rotations and permutations by construction;
- ``mlp`` (full size only): the fully unstructured :class:`symnet.models.LNN`,
  ``L`` an MLP of ``(q, qdot)``, trained in float64; its learned mass matrix
  may be singular, which the checker then reports.

Each learned Lagrangian goes through :func:`symnet.noether.check`
(translations, rotations, time shift; leapfrog, or RK4 for the ``mlp`` model
whose accelerations depend on the velocities). The charge plots go to the
working directory.

Run: ``python examples/symmetric_lnn.py`` (a few minutes);
``SYMNET_EXAMPLE_SMALL=1``: seconds.
"""

from __future__ import annotations

import os
import time

import torch

import symnet.models as sm
from symnet.groups import Permutation, Rotation, TimeShift, Translation
from symnet.mechanics import SingularMassMatrixError
from symnet.noether import check
from symnet.systems import NBodySprings
from symnet.testing import assert_invariant

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL", "") not in ("", "0")


def _summary(name: str, report: object) -> str:
    def worst(prefix: str) -> float:
        return max(r.drift for r in report.rows if r.generator.startswith(prefix))

    verdicts = sorted(set(report.verdicts.values()))
    fam = {
        p: sorted({v for k, v in report.verdicts.items() if k.startswith(p)})
        for p in ("translation", "rotation", "time")
    }
    return (
        f"{name:<10} P drift {worst('translation'):.1e} ({'/'.join(fam['translation'])})   "
        f"L drift {worst('rotation'):.1e} ({'/'.join(fam['rotation'])})   "
        f"E drift {worst('time'):.1e} ({'/'.join(fam['time'])})   verdicts: {verdicts}"
    )


def main() -> None:
    """Train the models, check their Noether charges, print a summary."""
    torch.set_num_threads(1)
    system = NBodySprings(N=4, dim=3)
    n_states, epochs, hidden, batch, steps = (
        (256, 2, 16, 2, 20) if SMALL else (8192, 30, 64, 8, 200)
    )
    gen = torch.Generator().manual_seed(0)
    q, qdot = system.sample_states(n_states, gen)
    data = {"q": q, "qdot": qdot, "qddot": system.acceleration(q, qdot)}
    qv, vv = system.sample_states(1024, gen)
    val = {"q": qv, "qdot": vv, "qddot": system.acceleration(qv, vv)}
    q0, v0 = system.sample_states(batch, gen)
    symmetries = [Translation(3), Rotation(3), TimeShift()]

    torch.manual_seed(0)
    models = {
        "plain": sm.LNN(config_shape=(4, 3), hidden=hidden, layers=2, structured=True,
                        mass="constant"),
        "symmetric": sm.SymmetricLNN(4, 3, hidden=hidden),
    }  # fmt: skip
    if not SMALL:
        models["mlp"] = sm.LNN(config_shape=(4, 3), hidden=128, layers=3).double()

    # invariance by construction, before any training (float32 and float64)
    G = Translation(3) * Rotation(3) * Permutation()
    for dtype in (torch.float32, torch.float64):
        view = models["symmetric"].as_lagrangian()
        assert_invariant(view, G, (q0, v0), ("point", "vector"), n_samples=4, dtype=dtype)
    print("symmetric LNN: assert_invariant under E(3) x S_4 passed (float32, float64)")

    lines = []
    for name, model in models.items():
        t0 = time.perf_counter()
        try:
            hist = sm.train(
                model,
                data,
                val_data=val,
                epochs=epochs,
                batch_size=256,
                rng=0,
                optimization=sm.Optimization(lr=3e-3, schedule="cosine"),
            )
        except SingularMassMatrixError as err:
            lines.append(f"{name:<10} training failed: {str(err)[:160]}...")
            print(lines[-1])
            continue
        print(
            f"{name:<10} val MSE {hist.val_loss[-1]:.2e} (best epoch {hist.best_epoch}), "
            f"{time.perf_counter() - t0:.0f} s"
        )
        method = "rk4" if name == "mlp" else "leapfrog"
        try:
            report = check(model.as_lagrangian(), symmetries, q0, v0, dt=0.01, steps=steps,
                           method=method)  # fmt: skip
        except (SingularMassMatrixError, ValueError) as err:
            lines.append(f"{name:<10} Noether check failed: {str(err)[:200]}...")
            print(lines[-1])
            continue
        print(report)
        report.plot(f"noether_{name}_lnn.png")
        lines.append(_summary(name, report))
        if name == "symmetric":
            for k, v in report.verdicts.items():
                assert v == "conserved", f"{k}: {v}"
    print("\nSummary (relative drifts over the rollouts)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
