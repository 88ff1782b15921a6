r"""Charged particles in 3-D: the N-body data set of the EGNN paper.

The simulator of the neural relational inference benchmark (Kipf et al.,
ICML 2018) as V. G. Satorras, E. Hoogeboom and M. Welling, "E(n) Equivariant
Graph Neural Networks", ICML 2021, Sec. 5.1, use it, vectorised over
trajectories: every trajectory of a data set is integrated at once.

The physics. ``N`` particles of unit mass and charges ``q_i = +-1`` (each sign
with probability 1/2) repel or attract with the Coulomb-like force::

    F_i = clip( sum_{j != i} q_i q_j (x_i - x_j) / |x_i - x_j|^3 ,  -F_max, F_max )

where the clip acts on each Cartesian component of the *total* force on a
particle, ``F_max = 0.1 / dt`` (so clipped forces are no longer equal and
opposite: momentum is conserved only while no force is clipped). Positions
start from ``N(0, loc_std^2)``; those outside the box ``[-box, box]^3`` are
reflected into it, with the matching velocity components turned inwards (the
only use of the box: the walls play no part after ``t = 0``). Velocities start
in uniformly random directions with norm ``vel_norm``.

The integrator (symplectic Euler, kick first)::

    v += dt F(x)                                  # at step 0
    for step in 1, ..., n_steps - 1:
        x += dt v
        if step % sample_every == 0: record (x, v)   # frame step // sample_every - 1
        v += dt F(x)

so frame ``k`` holds the state after ``(k + 1) * sample_every`` steps (the
initial state is not recorded) and there are ``n_steps // sample_every - 1``
frames. EGNN's task maps frame 30 (positions, velocities, charges) to the
positions at frame 40, ``10 * sample_every = 1000`` steps (time 1.0) later.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from symnet._rng import as_generator

__all__ = [
    "ChargedNBody",
    "charged_nbody_dataset",
    "coulomb_forces",
    "simulate_charged_particles",
]


class ChargedNBody(NamedTuple):
    """Samples of the charged N-body task: a state and the positions later.

    Attributes
    ----------
    x0 : Tensor
        Positions at the input frame, shape ``(n, N, 3)`` (kind ``point``).
    v0 : Tensor
        Velocities at the input frame, shape ``(n, N, 3)`` (kind ``vector``).
    charges : Tensor
        Charges ``+-1``, shape ``(n, N)`` (kind ``scalar``).
    target : Tensor
        Positions at the target frame, shape ``(n, N, 3)``.
    """

    x0: Tensor
    v0: Tensor
    charges: Tensor
    target: Tensor


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (0.0 < float(value) < math.inf):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def coulomb_forces(x: Tensor, charges: Tensor, max_force: float | None = None) -> Tensor:
    """Total Coulomb-like forces ``sum_j q_i q_j (x_i - x_j) / |x_i - x_j|^3``, clipped.

    Parameters
    ----------
    x : Tensor
        Positions, shape ``(..., N, d)``.
    charges : Tensor
        Charges, shape ``(..., N)``.
    max_force : float, optional
        Clip every component of every particle's total force to
        ``[-max_force, max_force]`` (default: no clipping).

    Returns
    -------
    Tensor
        Shape ``(..., N, d)``.

    Examples
    --------
    >>> x = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    >>> coulomb_forces(x, torch.tensor([1.0, 1.0]))  # like charges repel: 1 / r^2 = 0.25
    tensor([[-0.2500,  0.0000,  0.0000],
            [ 0.2500,  0.0000,  0.0000]])
    """
    diff = x[..., :, None, :] - x[..., None, :, :]  # x_i - x_j
    r2 = (diff * diff).sum(-1)
    n = x.shape[-2]
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    inv_r3 = torch.where(eye, 0.0, r2.masked_fill(eye, 1.0).pow(-1.5))
    size = charges[..., :, None] * charges[..., None, :] * inv_r3
    force = (size[..., None] * diff).sum(-2)
    if max_force is not None:
        force = force.clamp(-max_force, max_force)
    return force


def simulate_charged_particles(
    n_trajectories: int,
    n_particles: int = 5,
    *,
    n_steps: int = 5000,
    sample_every: int = 100,
    dt: float = 1e-3,
    loc_std: float = 1.0,
    vel_norm: float = 0.5,
    box: float = 5.0,
    clip: bool = True,
    rng: Any = 0,
    dtype: torch.dtype = torch.float64,
) -> tuple[Tensor, Tensor, Tensor]:
    """Integrate charged-particle trajectories (module docstring: physics and frames).

    Parameters
    ----------
    n_trajectories : int
        Number of independent trajectories ``B``.
    n_particles : int
        Particles per trajectory ``N`` (default 5).
    n_steps : int
        Integrator steps (default 5000), a multiple of ``sample_every``.
    sample_every : int
        Record every this many steps (default 100).
    dt : float
        Time step (default 0.001).
    loc_std, vel_norm, box : float
        Initial position spread, initial speed and half-width of the box that
        the initial positions are reflected into (defaults 1, 0.5, 5).
    clip : bool
        Clip force components at ``0.1 / dt`` (default True, as the reference
        simulator); False gives exactly momentum-conserving dynamics.
    rng : int, torch.Generator or None
        Seed or generator (default 0: reproducible).
    dtype : torch.dtype
        Floating point type of the integration and the results (default float64).

    Returns
    -------
    positions, velocities : Tensor
        Shape ``(B, F, N, 3)`` with ``F = n_steps // sample_every - 1`` frames.
    charges : Tensor
        Shape ``(B, N)``, entries ``+-1``.

    Examples
    --------
    >>> x, v, q = simulate_charged_particles(4, n_steps=500, sample_every=100)
    >>> x.shape, v.shape, q.shape
    (torch.Size([4, 4, 5, 3]), torch.Size([4, 4, 5, 3]), torch.Size([4, 5]))
    """
    b = _check_int("n_trajectories", n_trajectories, 1)
    n = _check_int("n_particles", n_particles, 2)
    every = _check_int("sample_every", sample_every, 1)
    steps = _check_int("n_steps", n_steps, 2 * every)
    if steps % every:
        raise ValueError(f"n_steps must be a multiple of sample_every={every}, got n_steps={steps}")
    dt = _check_positive("dt", dt)
    loc_std, vel_norm = _check_positive("loc_std", loc_std), _check_positive("vel_norm", vel_norm)
    box = _check_positive("box", box)
    gen = as_generator(rng)
    charges = torch.randint(0, 2, (b, n), generator=gen).to(dtype) * 2.0 - 1.0
    x = torch.randn(b, n, 3, generator=gen, dtype=dtype) * loc_std
    v = torch.randn(b, n, 3, generator=gen, dtype=dtype)
    v = v * (vel_norm / v.norm(dim=-1, keepdim=True))
    # reflect the initial positions into the box, velocities pointing inwards
    over, under = x > box, x < -box
    x = torch.where(over, 2 * box - x, torch.where(under, -2 * box - x, x))
    v = torch.where(over, -v.abs(), torch.where(under, v.abs(), v))
    max_force = 0.1 / dt if clip else None
    n_frames = steps // every - 1
    xs = torch.empty(b, n_frames, n, 3, dtype=dtype)
    vs = torch.empty_like(xs)
    v = v + dt * coulomb_forces(x, charges, max_force)
    for step in range(1, steps):
        x = x + dt * v
        if step % every == 0:
            xs[:, step // every - 1] = x
            vs[:, step // every - 1] = v
        v = v + dt * coulomb_forces(x, charges, max_force)
    return xs, vs, charges


def charged_nbody_dataset(
    n_train: int = 3000,
    n_valid: int = 2000,
    n_test: int = 2000,
    *,
    frame_in: int = 30,
    frame_out: int = 40,
    sample_every: int = 100,
    rng: Any = 0,
    dtype: torch.dtype = torch.float32,
    **simulator: Any,
) -> dict[str, ChargedNBody]:
    """EGNN's charged N-body task: train / valid / test splits of independent trajectories.

    Each split comes from its own trajectories; one sample is the state at
    frame ``frame_in`` and the positions at frame ``frame_out`` (defaults 30
    and 40: 1000 simulator steps, time 1.0, later). Only the frames up to
    ``frame_out`` are simulated (the trajectories are the same as those of a
    full 5000-step run).

    Parameters
    ----------
    n_train, n_valid, n_test : int
        Trajectories per split (defaults: the paper's 3000, 2000, 2000).
    frame_in, frame_out : int
        Input and target frame, ``0 <= frame_in < frame_out``.
    sample_every : int
        Simulator steps between frames (default 100).
    rng : int, torch.Generator or None
        Seed or generator (default 0).
    dtype : torch.dtype
        Type of the returned tensors (default float32; the simulation runs in float64).
    **simulator
        Passed to :func:`simulate_charged_particles` (``n_particles``, ``dt``, ``clip``...).

    Returns
    -------
    dict
        ``{"train": ChargedNBody, "valid": ..., "test": ...}``; tensor shapes in
        :class:`ChargedNBody`.

    Examples
    --------
    >>> data = charged_nbody_dataset(8, 4, 4, frame_in=2, frame_out=4, rng=1)
    >>> data["train"].x0.shape, data["test"].charges.shape
    (torch.Size([8, 5, 3]), torch.Size([4, 5]))
    """
    for name in ("n_train", "n_valid", "n_test"):
        _check_int(name, locals()[name], 1)
    fin, fout = _check_int("frame_in", frame_in, 0), _check_int("frame_out", frame_out, 1)
    if fin >= fout:
        raise ValueError(f"frame_in must be < frame_out, got {fin} and {fout}")
    if "n_steps" in simulator:
        raise TypeError("n_steps is set by frame_out; pass frame_out instead")
    total = n_train + n_valid + n_test
    every = _check_int("sample_every", sample_every, 1)
    x, v, q = simulate_charged_particles(
        total, n_steps=(fout + 2) * every, sample_every=every, rng=rng, **simulator
    )
    out = {}
    start = 0
    for split, size in (("train", n_train), ("valid", n_valid), ("test", n_test)):
        sl = slice(start, start + size)
        out[split] = ChargedNBody(
            x[sl, fin].to(dtype), v[sl, fin].to(dtype), q[sl].to(dtype), x[sl, fout].to(dtype)
        )
        start += size
    return out
