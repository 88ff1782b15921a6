"""Trajectory data from an analytic system: :class:`Trajectories` and ``generate``.

States are integrated with :func:`symnet.mechanics.rollout` on the system's
closed-form acceleration; the training targets (``qddot``, ``dq/dt``,
``dp/dt``) are evaluated exactly, in closed form, at the noise-free states;
noise, when asked for, goes on the observed states only (the recipe of
Greydanus et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from symnet.systems._helpers import finite, integer, nonnegative, positive

if TYPE_CHECKING:
    from symnet.systems.system import System

__all__ = ["Trajectories", "generate"]


@dataclass(frozen=True)
class Trajectories:
    """Trajectories of a system with exact targets.

    Every tensor has leading axes ``(T + 1, n)``: time step, trajectory.
    ``S`` is the system's ``config_shape``.

    Attributes
    ----------
    t : Tensor
        Times, shape ``(T + 1, n)``.
    q, qdot, p : Tensor
        Observed positions, velocities and canonical momenta, shape
        ``(T + 1, n, *S)``; with noise when ``noise > 0``.
    qddot : Tensor
        Exact accelerations at the noise-free states, shape ``(T + 1, n, *S)``
        (the Lagrangian training target).
    dq_dt, dp_dt : Tensor
        Exact ``dq/dt = qdot`` and ``dp/dt`` at the noise-free states, shape
        ``(T + 1, n, *S)`` (the Hamiltonian training targets).
    q_true, qdot_true, p_true : Tensor
        The noise-free states, shape ``(T + 1, n, *S)``.
    noise : float
        Standard deviation of the observation noise.
    """

    t: Tensor
    q: Tensor
    qdot: Tensor
    p: Tensor
    qddot: Tensor
    dq_dt: Tensor
    dp_dt: Tensor
    q_true: Tensor
    qdot_true: Tensor
    p_true: Tensor
    noise: float = 0.0

    def as_dict(self) -> dict[str, Tensor]:
        """The tensors by field name (``noise`` left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "noise"}

    def flatten(self) -> dict[str, Tensor]:
        """The tensors with time and trajectory axes merged: ``(M, *S)``, ``M = (T + 1) n``.

        ``t`` becomes shape ``(M,)``. Rows of one trajectory are not contiguous
        (the time axis is the outer one).
        """
        return {k: v.reshape(-1, *v.shape[2:]) for k, v in self.as_dict().items()}

    def __repr__(self) -> str:
        T1, n = self.t.shape
        return (
            f"Trajectories(steps={T1 - 1}, n_traj={n}, config_shape={tuple(self.q.shape[2:])}, "
            f"noise={self.noise:g})"
        )


def generate(
    system: System,
    n_traj: int,
    steps: int,
    dt: float,
    noise: float,
    rng: torch.Generator | None,
    method: str,
    q0: Tensor | None,
    qdot0: Tensor | None,
    t0: float,
    substeps: int,
) -> Trajectories:
    """See :meth:`symnet.systems.System.generate`."""
    from symnet.mechanics import rollout
    from symnet.mechanics.field import SecondOrderField

    n_traj = integer("n_traj", n_traj)
    steps = integer("steps", steps)
    substeps = integer("substeps", substeps)
    dt = positive("dt", dt)
    noise = nonnegative("noise", noise)
    t0 = finite("t0", t0)
    if (q0 is None) != (qdot0 is None):
        raise ValueError("q0 and qdot0 must be given together")
    if q0 is None:
        q0, qdot0 = system.sample_states(n_traj, rng)
    else:
        system.check_state(q0, qdot0, ("q0", "qdot0"))
        if q0.shape[0] != n_traj:
            raise ValueError(f"q0 holds {q0.shape[0]} states but n_traj = {n_traj}")
        q0, qdot0 = q0.to(torch.float64), qdot0.to(torch.float64)

    field = SecondOrderField(
        system.acceleration, source=system.lagrangian, velocity_dependent=system.velocity_dependent
    )
    traj = rollout(field, q0, qdot0, dt=dt / substeps, steps=steps * substeps, method=method, t0=t0)
    t = traj.t[::substeps]
    q = traj.q[::substeps]
    v = traj.v[::substeps]

    S = tuple(q.shape[2:])
    shape = q.shape
    qf, vf, tf = q.reshape(-1, *S), v.reshape(-1, *S), t.reshape(-1)
    with torch.no_grad():
        qddot = system.acceleration(qf, vf, tf).reshape(shape)
        p = system.momentum(qf, vf, tf).reshape(shape)
        dp_dt = system.momentum_rate(qf, vf, tf).reshape(shape)

    obs = [q, v, p]
    if noise > 0:
        obs = [x + noise * torch.randn(x.shape, generator=rng, dtype=x.dtype) for x in obs]
    return Trajectories(
        t=t,
        q=obs[0],
        qdot=obs[1],
        p=obs[2],
        qddot=qddot,
        dq_dt=v.clone(),
        dp_dt=dp_dt,
        q_true=q,
        qdot_true=v,
        p_true=p,
        noise=noise,
    )
