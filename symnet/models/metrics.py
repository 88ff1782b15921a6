"""Rollout metrics: energy drift, relative state error, and the chaos floor.

- :func:`energy_drift`: the *true* energy evaluated along a predicted and
  along the true trajectory. Its mean squared difference is the "energy MSE"
  of Greydanus et al. (2019); its final-time difference relative to a scale
  (the maximum potential 29.4 of the double pendulum) is the number of
  Cranmer et al. (2020).
- :func:`state_error`: ``|x_pred - x_true| / (|x_pred| + |x_true|)`` over
  time, ``x = (q, v)`` (the relative error of Finzi et al. 2020).
- :func:`chaos_floor`: the state error between the true trajectory and the
  true trajectory from an initial state moved by a relative ``eps``. In a
  chaotic system this grows exponentially; a model's state error below it at
  a given time says nothing about the model, only about the system.
- :func:`simulate`: no-grad rollouts of a model or a system, recorded every
  ``substeps`` integration steps.

References
----------
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019). M. Cranmer et al., "Lagrangian Neural Networks" (2020).
M. Finzi, K. A. Wang, A. G. Wilson, "Simplifying Hamiltonian and Lagrangian
neural networks via explicit constraints", NeurIPS (2020).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from symnet._deprecation import MISSING
from symnet._rng import RNG, as_generator
from symnet._util import format_shape
from symnet.models._options import check_input_dtype, choice, integer, real
from symnet.systems._helpers import renamed_generator

__all__ = ["EnergyDrift", "chaos_floor", "energy_drift", "simulate", "state_error"]


def _states(x: Any, name: str) -> tuple[Tensor, Tensor]:
    """``(q, v)`` of shape (K, B, *S) from a Trajectory, Trajectories or a pair."""
    if isinstance(x, (tuple, list)) and len(x) == 2:
        q, v = x
    else:
        q = getattr(x, "q", None)
        v = getattr(x, "v", None)
        if v is None:
            v = getattr(x, "qdot", None)
    if not isinstance(q, Tensor) or not isinstance(v, Tensor):
        raise TypeError(
            f"{name} must be a symnet.mechanics.Trajectory, a symnet.systems.Trajectories or "
            f"a (q, v) pair of tensors of shape (K, B, *S), got {type(x).__name__}"
        )
    if q.shape != v.shape or q.dim() < 3:
        raise ValueError(
            f"{name}: q and v must have the same shape (K, B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    return q, v


def _same_shape(qp: Tensor, qt: Tensor) -> None:
    if qp.shape != qt.shape:
        raise ValueError(
            "predicted and true states must have the same shape (K, B, *S), got "
            f"{format_shape(qp.shape)} and {format_shape(qt.shape)}"
        )


def _along(fn: Callable, q: Tensor, v: Tensor) -> Tensor:
    """``fn`` of states (K, B, *S), returning (K, B); the output shape is checked."""
    K, B = q.shape[:2]
    out = fn(q.reshape(K * B, *q.shape[2:]), v.reshape(K * B, *v.shape[2:]))
    if not isinstance(out, Tensor) or tuple(out.shape) != (K * B,):
        got = format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(
            f"energy must return one value per state, shape (M,) = {format_shape((K * B,))} "
            f"for the {K} x {B} states of shape {format_shape(q.shape[2:])}, got {got}"
        )
    return out.reshape(K, B)


@dataclass(frozen=True)
class EnergyDrift:
    """The true energy along a predicted trajectory, against the true trajectory.

    Attributes
    ----------
    difference : Tensor, shape (K, B)
        ``E(predicted_k) - E(true_k)``.
    mse : float
        Mean of ``difference**2`` over time and trajectories.
    final_relative : Tensor, shape (B,)
        ``|E(predicted_K) - E(true_K)| / scale`` at the last time.
    scale : Tensor, shape (B,)
        The scale used.
    """

    difference: Tensor
    mse: float
    final_relative: Tensor
    scale: Tensor

    @property
    def mean_final_relative(self) -> float:
        """Mean of :attr:`final_relative` over the trajectories."""
        return float(self.final_relative.mean())

    def __repr__(self) -> str:
        return (
            f"EnergyDrift(mse={self.mse:.3e}, mean_final_relative={self.mean_final_relative:.3e}, "
            f"B={self.difference.shape[1]})"
        )


def energy_drift(
    energy: Callable[[Tensor, Tensor], Tensor],
    predicted: Any,
    true: Any,
    *,
    scale: float | Tensor | None = None,
) -> EnergyDrift:
    """Compare the true energy along a predicted and along the true trajectory.

    Parameters
    ----------
    energy : callable
        ``energy(q, v) -> (M,)`` for states of shape (M, *S), e.g. a system's
        ``energy`` (``v`` velocities) or ``hamiltonian`` (``v`` momenta).
    predicted, true : Trajectory, Trajectories or (q, v)
        States of shape (K, B, *S) on the same time grid.
    scale : float or Tensor of shape (B,), optional
        Denominator of the final-time error (finite, > 0); default
        ``|E(true_0)|`` per trajectory (floored at 1e-12).

    Returns
    -------
    EnergyDrift

    Examples
    --------
    >>> import torch
    >>> from symnet.systems import MassSpring
    >>> sys = MassSpring()
    >>> q, v = torch.ones(3, 2, 1), torch.zeros(3, 2, 1)
    >>> energy_drift(sys.energy, (q, v), (q, v)).mse
    0.0
    """
    if not callable(energy):
        raise TypeError(f"energy must be a callable energy(q, v) -> (M,), got {type(energy)}")
    qp, vp = _states(predicted, "predicted")
    qt, vt = _states(true, "true")
    _same_shape(qp, qt)
    B = qp.shape[1]
    if scale is not None:
        if isinstance(scale, Tensor) and scale.dim() > 0:
            if tuple(scale.shape) != (B,):
                raise ValueError(
                    f"scale must be a number or a tensor of shape (B,) = ({B},), got "
                    f"{format_shape(scale.shape)}"
                )
            if not bool((torch.isfinite(scale) & (scale > 0)).all()):
                raise ValueError("scale must be finite and > 0 for every trajectory")
        else:
            scale = real(scale, "scale", positive=True)
    with torch.no_grad():
        e_pred, e_true = _along(energy, qp, vp), _along(energy, qt, vt)
        diff = e_pred - e_true
        if scale is None:
            s = e_true[0].abs().clamp_min(1e-12)
        else:
            s = torch.as_tensor(scale, dtype=diff.dtype, device=diff.device).expand(B)
        return EnergyDrift(diff, float((diff**2).mean()), diff[-1].abs() / s, s)


def state_error(predicted: Any, true: Any) -> Tensor:
    """Relative state error over time, ``|x_p - x_t| / (|x_p| + |x_t|)`` with ``x = (q, v)``.

    Parameters
    ----------
    predicted, true : Trajectory, Trajectories or (q, v)
        States of shape (K, B, *S).

    Returns
    -------
    Tensor, shape (K, B)
        In [0, 1]; 0 where both states agree (0/0 counts as 0).
    """
    qp, vp = _states(predicted, "predicted")
    qt, vt = _states(true, "true")
    _same_shape(qp, qt)
    with torch.no_grad():
        xp = torch.cat([qp.flatten(2), vp.flatten(2)], -1)
        xt = torch.cat([qt.flatten(2), vt.flatten(2)], -1)
        num = (xp - xt).norm(dim=-1)
        den = xp.norm(dim=-1) + xt.norm(dim=-1)
        return torch.where(den > 0, num / torch.where(den > 0, den, 1.0), 0.0)


def simulate(
    dynamics: Any,
    q0: Tensor,
    v0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    substeps: int = 1,
    t0: float = 0.0,
    on_nonfinite: str = "raise",
) -> Any:
    """Roll out a model or a system without recording gradients.

    Parameters
    ----------
    dynamics : model, System, VectorField or callable
        A model of :mod:`symnet.models` (its ``field``), a
        :class:`symnet.systems.System` (its closed-form ``acceleration``), or
        anything :func:`symnet.mechanics.rollout` takes.
    q0, v0 : Tensor, shape (B, *S)
        Initial state (velocities, or momenta for a first-order field); not
        modified. For a model, in the model's dtype: a TypeError says how to
        cast otherwise (no silent cast).
    dt : float
        Time between recorded states (finite, non-zero; negative integrates
        backwards).
    steps : int
        Recorded steps (>= 0; any integer type).
    method : str
        Integrator.
    substeps : int
        Integration steps per recorded step (of size ``dt / substeps``; >= 1).
    t0 : float
        Initial time.
    on_nonfinite : {"raise", "nan"}
        When a state becomes NaN/inf (a diverging model): raise
        :class:`~symnet.mechanics.NonFiniteStateError`, or integrate every
        trajectory on its own and fill the states after its divergence with NaN.

    Returns
    -------
    Trajectory
        ``q``, ``v`` of shape (steps + 1, B, *S), ``t`` of shape (steps + 1, B).
    """
    from symnet.mechanics import NonFiniteStateError, SecondOrderField, Trajectory, rollout
    from symnet.systems import System

    dt = real(dt, "dt")
    if dt == 0:
        raise ValueError("dt must be non-zero, got 0.0")
    steps = integer(steps, "steps", minimum=0)
    substeps = integer(substeps, "substeps", minimum=1)
    t0 = real(t0, "t0")
    on_nonfinite = choice(on_nonfinite, "on_nonfinite", ("raise", "nan"))
    if isinstance(dynamics, System):
        field = SecondOrderField(
            dynamics.acceleration, velocity_dependent=dynamics.velocity_dependent
        )
    else:
        if isinstance(dynamics, nn.Module):
            check_input_dtype(dynamics, ("q0", q0), ("v0", v0))
        field = getattr(dynamics, "field", dynamics)
    kw = {"dt": dt / substeps, "steps": steps * substeps, "method": method, "t0": t0}
    k = slice(None, None, substeps)
    with torch.no_grad():
        try:
            traj = rollout(field, q0, v0, **kw)
        except NonFiniteStateError:
            if on_nonfinite == "raise":
                raise
            parts = [rollout(field, q0[b : b + 1], v0[b : b + 1], on_nonfinite="return", **kw)
                     for b in range(q0.shape[0])]  # fmt: skip
            K = steps * substeps + 1
            q = q0.new_full((K, *q0.shape), float("nan"))
            v = v0.new_full((K, *v0.shape), float("nan"))
            for b, part in enumerate(parts):
                q[: len(part), b], v[: len(part), b] = part.q[:, 0], part.v[:, 0]
            t = t0 + kw["dt"] * torch.arange(K, dtype=q0.dtype, device=q0.device)
            traj = Trajectory(t[:, None].expand(K, q0.shape[0]), q, v, method, kw["dt"])
    return Trajectory(traj.t[k], traj.q[k], traj.v[k], traj.method, dt)


def chaos_floor(
    dynamics: Any,
    q0: Tensor,
    v0: Tensor,
    *,
    dt: float,
    steps: int,
    eps: float = 1e-6,
    method: str = "rk4",
    substeps: int = 1,
    rng: RNG = None,
    generator: Any = MISSING,
) -> Tensor:
    """State error between two true trajectories whose initial states differ by ``eps``.

    The initial state ``x0 = (q0, v0)`` of every trajectory is moved by
    ``eps |x0|`` along a random unit direction; both are integrated with the
    same method and step. No model can be judged on a state error below this
    floor: it measures the system's sensitivity (and the integrator's), not
    a model's.

    Parameters
    ----------
    dynamics : System, model or field
        The reference dynamics (see :func:`simulate`).
    q0, v0 : Tensor, shape (B, *S)
    dt, steps, method, substeps
        As :func:`simulate`.
    eps : float
        Relative size of the perturbation (finite, > 0).
    rng : int or torch.Generator, optional
        Seed or generator of the random directions (None: torch's global
        generator). ``generator=`` is its deprecated name.

    Returns
    -------
    Tensor, shape (steps + 1, B)
        :func:`state_error` along time (``eps / 2`` at ``t = 0``, about).

    Examples
    --------
    >>> import torch
    >>> from symnet.systems import DoublePendulum
    >>> sys = DoublePendulum()
    >>> q0, v0 = sys.sample_states(4, rng=0)
    >>> floor = chaos_floor(sys, q0, v0, dt=0.05, steps=100, eps=1e-8)
    >>> bool(floor[-1].mean() > floor[0].mean() > 0)
    True
    """
    from symnet._util import check_tensor

    rng = renamed_generator(generator, rng, "symnet.models.chaos_floor")
    gen = as_generator(rng, default=None)
    eps = real(eps, "eps", positive=True)
    check_tensor(q0, "q0", ndim_min=1)
    check_tensor(v0, "v0", ndim_min=1)
    if q0.shape != v0.shape:
        raise ValueError(
            f"q0 and v0 must have the same shape (B, *S), got {format_shape(q0.shape)} and "
            f"{format_shape(v0.shape)}"
        )
    x0 = torch.cat([q0.flatten(1), v0.flatten(1)], -1)
    u = torch.randn(x0.shape, generator=gen, dtype=x0.dtype, device=x0.device)
    u = u / u.norm(dim=-1, keepdim=True)
    dx = eps * x0.norm(dim=-1, keepdim=True) * u
    n = q0[0].numel()
    q1 = q0 + dx[:, :n].reshape(q0.shape)
    v1 = v0 + dx[:, n:].reshape(v0.shape)
    kw = {"dt": dt, "steps": steps, "method": method, "substeps": substeps}
    return state_error(simulate(dynamics, q1, v1, **kw), simulate(dynamics, q0, v0, **kw))
