"""Lagrangians, Hamiltonians and their accelerations written out by hand.

The closed forms here are independent of symnet: they are the ground truth
that the autodiff vector fields are compared with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

F64 = torch.float64


def rel(a: Tensor, b: Tensor) -> float:
    """max |a - b| / max |b| (absolute when b is zero)."""
    scale = b.detach().abs().max().clamp_min(1e-300)
    return float((a.detach() - b.detach()).abs().max() / scale)


@dataclass
class Case:
    name: str
    L: Callable
    accel: Callable  # (q, qdot, t) -> qddot
    shape: tuple[int, ...]


# 1. harmonic oscillator, S = (1,)
M_HO, K_HO = 1.7, 2.3


def L_oscillator(q: Tensor, qdot: Tensor) -> Tensor:  # noqa: N802
    return 0.5 * M_HO * qdot[:, 0] ** 2 - 0.5 * K_HO * q[:, 0] ** 2


def a_oscillator(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    return -K_HO / M_HO * q


# 2. two-body spring in 3D, S = (2, 3)
MASSES = (1.3, 0.7)
K_SPRING, L0 = 2.0, 0.8


def L_two_body(q: Tensor, qdot: Tensor) -> Tensor:  # noqa: N802
    m = torch.tensor(MASSES, dtype=q.dtype)
    kinetic = 0.5 * (m[None, :, None] * qdot**2).sum((-1, -2))
    r = (q[:, 0] - q[:, 1]).norm(dim=-1)
    return kinetic - 0.5 * K_SPRING * (r - L0) ** 2


def a_two_body(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    d = q[:, 0] - q[:, 1]
    r = d.norm(dim=-1, keepdim=True)
    force_on_1 = -K_SPRING * (r - L0) * d / r
    return torch.stack([force_on_1 / MASSES[0], -force_on_1 / MASSES[1]], dim=1)


# 3. Kepler, S = (3,)
M_KEPLER, K_KEPLER = 1.5, 2.0


def L_kepler(q: Tensor, qdot: Tensor) -> Tensor:  # noqa: N802
    return 0.5 * M_KEPLER * (qdot**2).sum(-1) + K_KEPLER / q.norm(dim=-1)


def a_kepler(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    r = q.norm(dim=-1, keepdim=True)
    return -K_KEPLER * q / (M_KEPLER * r**3)


# 4. charge in a uniform B along z, Landau gauge A = (-B y, 0, 0), S = (3,)
M_CHARGE, CHARGE, B_FIELD = 1.2, 0.9, 1.7


def vector_potential(q: Tensor) -> Tensor:
    zero = torch.zeros_like(q[:, 0])
    return torch.stack([-B_FIELD * q[:, 1], zero, zero], dim=-1)


def L_charge(q: Tensor, qdot: Tensor) -> Tensor:  # noqa: N802
    return 0.5 * M_CHARGE * (qdot**2).sum(-1) + CHARGE * (qdot * vector_potential(q)).sum(-1)


def a_charge(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    # (q/m) v x B with B = (0, 0, B)
    c = CHARGE * B_FIELD / M_CHARGE
    return torch.stack([c * qdot[:, 1], -c * qdot[:, 0], torch.zeros_like(qdot[:, 2])], dim=-1)


# 5. double pendulum, S = (2,) (angles from the downward vertical)
M1, M2, L1, L2, G = 1.1, 0.8, 1.3, 0.9, 9.81


def L_double_pendulum(q: Tensor, qdot: Tensor) -> Tensor:  # noqa: N802
    th1, th2 = q[:, 0], q[:, 1]
    w1, w2 = qdot[:, 0], qdot[:, 1]
    kinetic = (
        0.5 * (M1 + M2) * L1**2 * w1**2
        + 0.5 * M2 * L2**2 * w2**2
        + M2 * L1 * L2 * w1 * w2 * torch.cos(th1 - th2)
    )
    potential = -(M1 + M2) * G * L1 * torch.cos(th1) - M2 * G * L2 * torch.cos(th2)
    return kinetic - potential


def a_double_pendulum(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    th1, th2 = q[:, 0], q[:, 1]
    w1, w2 = qdot[:, 0], qdot[:, 1]
    d = th1 - th2
    den = 2 * M1 + M2 - M2 * torch.cos(2 * d)
    a1 = (
        -G * (2 * M1 + M2) * torch.sin(th1)
        - M2 * G * torch.sin(th1 - 2 * th2)
        - 2 * torch.sin(d) * M2 * (w2**2 * L2 + w1**2 * L1 * torch.cos(d))
    ) / (L1 * den)
    a2 = (
        2
        * torch.sin(d)
        * (w1**2 * L1 * (M1 + M2) + G * (M1 + M2) * torch.cos(th1) + w2**2 * L2 * M2 * torch.cos(d))
    ) / (L2 * den)
    return torch.stack([a1, a2], dim=-1)


# 6. damped oscillator from a time-dependent L = e^{gamma t} (1/2 m qdot^2 - 1/2 k q^2)
M_D, K_D, GAMMA = 0.9, 1.4, 0.3


def L_damped(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:  # noqa: N802
    return torch.exp(GAMMA * t) * (0.5 * M_D * qdot[:, 0] ** 2 - 0.5 * K_D * q[:, 0] ** 2)


def a_damped(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
    return -GAMMA * qdot - K_D / M_D * q


CASES = [
    Case("oscillator", L_oscillator, a_oscillator, (1,)),
    Case("two_body_spring", L_two_body, a_two_body, (2, 3)),
    Case("kepler", L_kepler, a_kepler, (3,)),
    Case("charge_in_B", L_charge, a_charge, (3,)),
    Case("double_pendulum", L_double_pendulum, a_double_pendulum, (2,)),
    Case("damped_time_dependent", L_damped, a_damped, (1,)),
]


def random_state(shape: tuple[int, ...], batch: int = 7, seed: int = 0, dtype=F64):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn((batch, *shape), generator=gen, dtype=dtype)
    qdot = torch.randn((batch, *shape), generator=gen, dtype=dtype)
    t = torch.rand(batch, generator=gen, dtype=dtype) * 3.0
    if shape == (3,):  # keep Kepler away from the origin
        q = q + 2.0 * q / q.norm(dim=-1, keepdim=True)
    return q, qdot, t


# Hamiltonians with their closed-form Hamilton equations
def H_kepler(q: Tensor, p: Tensor) -> Tensor:  # noqa: N802
    return (p**2).sum(-1) / (2 * M_KEPLER) - K_KEPLER / q.norm(dim=-1)


def hf_kepler(q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    r = q.norm(dim=-1, keepdim=True)
    return p / M_KEPLER, -K_KEPLER * q / r**3


def H_charge(q: Tensor, p: Tensor) -> Tensor:  # noqa: N802
    return ((p - CHARGE * vector_potential(q)) ** 2).sum(-1) / (2 * M_CHARGE)


def hf_charge(q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    kin = p - CHARGE * vector_potential(q)  # m v
    qdot = kin / M_CHARGE
    pdot_y = -CHARGE * B_FIELD / M_CHARGE * kin[:, 0]
    zero = torch.zeros_like(pdot_y)
    return qdot, torch.stack([zero, pdot_y, zero], dim=-1)


F0, OMEGA = 0.7, 1.9


def H_driven(q: Tensor, p: Tensor, t: Tensor) -> Tensor:  # noqa: N802
    return 0.5 * p[:, 0] ** 2 + 0.5 * q[:, 0] ** 2 - q[:, 0] * F0 * torch.cos(OMEGA * t)


def hf_driven(q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    return p, -q + F0 * torch.cos(OMEGA * t)[:, None]


HAMILTONIAN_CASES = [
    ("kepler", H_kepler, hf_kepler, (3,)),
    ("charge_in_B", H_charge, hf_charge, (3,)),
    ("driven_time_dependent", H_driven, hf_driven, (1,)),
]

# Exact solution of the unit harmonic oscillator q'' = -omega^2 q
OMEGA_HO = 1.3


def oscillator_exact(q0: Tensor, v0: Tensor, t: float) -> tuple[Tensor, Tensor]:
    c, s = math.cos(OMEGA_HO * t), math.sin(OMEGA_HO * t)
    return q0 * c + v0 / OMEGA_HO * s, -q0 * OMEGA_HO * s + v0 * c
