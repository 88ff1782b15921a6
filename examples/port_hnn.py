"""Port-Hamiltonian networks (Desai et al. 2021) learn damping and forcing.

Two open systems of :mod:`symnet.systems`, m = k = 1:

- :class:`~symnet.systems.DampedOscillator` (gamma = 0.1): ``m qddot = -k q -
  gamma m qdot``. With the physical momentum ``p = m qdot`` this is the
  port-Hamiltonian form with ``H = p^2/(2m) + k q^2/2``, ``R = m gamma = 0.1``
  and no forcing;
- :class:`~symnet.systems.DrivenOscillator` (F0 = 0.5, Omega = 1.3): ``R = 0``
  and ``F(t) = F0 cos(Omega t)``.

One :class:`symnet.models.PortHNN` per system, with both ports (a constant
dissipation ``R = B B^T`` and a Fourier-series forcing with learned
frequencies), is trained on the exact time derivatives along trajectories
over t in [0, 20]. Reported: the learned ``R`` against ``m gamma``, and the
learned ``F(t)`` against ``F0 cos(Omega t)`` on [0, 20] (RMS and maximum
error relative to F0). A constant force is not identifiable from the
dynamics: ``H + c q`` with ``F + c`` gives the same equations of motion, so
the error is also reported up to that constant (the gauge), together with
``-dH/dq`` at the origin, which carries it.

Run: ``python examples/port_hnn.py``; ``SYMNET_EXAMPLE_SMALL=1``: seconds.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

import symnet.models as sm
from symnet.systems import DampedOscillator, DrivenOscillator

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL", "") not in ("", "0")


def port_data(system: DampedOscillator | DrivenOscillator, n: int, seed: int) -> dict[str, Tensor]:
    """Trajectories in the physical variables ``(q, p = m qdot)`` with exact rates."""
    traj = system.generate(n, 200, 0.1, rng=seed, substeps=4)
    m = system.m
    return {
        "q": traj.q,
        "p": m * traj.qdot,
        "dq_dt": traj.qdot,
        "dp_dt": m * traj.qddot,
        "t": traj.t,
    }


def main() -> None:
    """Fit one PortHNN per system and compare its ports with the true ones."""
    torch.set_num_threads(1)
    n_traj, epochs, hidden = (4, 2, 16) if SMALL else (32, 60, 64)
    damped = DampedOscillator(m=1.0, k=1.0, gamma=0.1)
    driven = DrivenOscillator(m=1.0, k=1.0, F0=0.5, Omega=1.3)
    t = torch.linspace(0.0, 20.0, 401)
    for system in (damped, driven):
        torch.manual_seed(0)
        model = sm.PortHNN(config_shape=(1,), hidden=hidden, frequencies=16, max_frequency=4.0)
        data = port_data(system, n_traj, seed=0)
        val = port_data(system, max(2, n_traj // 4), seed=1)
        hist = sm.train(
            model,
            data,
            val_data=val,
            epochs=epochs,
            batch_size=256,
            rng=0,
            optimization=sm.Optimization(lr=3e-3, schedule="cosine"),
        )
        true_R = system.m * getattr(system, "gamma", 0.0)
        true_F = getattr(system, "F0", 0.0) * torch.cos(getattr(system, "Omega", 0.0) * t)
        with torch.no_grad():
            F = model.forcing(t)[:, 0].double()
            # gauge: H + c q with F + c gives the same dynamics; the H part shows at q = p = 0
            zero = torch.zeros(1, 1)
            c = float(model.time_derivative(zero, zero, 0.0)[1][0, 0] - model.forcing(0.0)[0, 0])
        scale = getattr(system, "F0", 1.0)
        offset = float((F - true_F).mean())
        rms = float((F - true_F).pow(2).mean().sqrt())
        rms_gauge = float((F - offset - true_F).pow(2).mean().sqrt())
        worst = float((F - offset - true_F).abs().max())
        R = model.damping_rate()
        print(
            f"{system!r}\n  val MSE {hist.val_loss[-1]:.2e}   learned R {R:.4f} (true m gamma = "
            f"{true_R:.4f}, error {abs(R - true_R):.1e})\n"
            f"  learned F(t) on [0, 20] vs the true forcing: RMS error {rms:.1e}; up to the gauge "
            f"constant ({offset:+.3f}; the learned H adds {c:+.3f} at the origin): "
            f"RMS {rms_gauge:.1e}, max {worst:.1e}"
            + (f" ({rms_gauge / scale:.1%} / {worst / scale:.1%} of F0)" if scale != 1.0 else "")
        )


if __name__ == "__main__":
    main()
