"""A charged particle in a uniform magnetic field: :class:`ChargeInMagneticField`.

``L = 1/2 m |v|^2 + e v . A(x)`` with ``B = B e_z`` in the Landau gauge
``A = (-B y, 0, 0)``, so ``L = 1/2 m |v|^2 - e B y v_x``. The Lorentz force
``m a = e v x B`` depends on the velocity (integrate with ``"rk4"``, not
leapfrog). The gauge singles out y: translations along x and z are exact
symmetries (charges: the canonical ``p_x = m v_x - e B y`` and ``p_z``), the
translation along y is not (``docs/theory.md``, "Ground-truth systems"). The
rotation about z is a quasi-symmetry in this gauge, with boundary term
``F = -e B (x^2 - y^2) / 2``.

References
----------
J. D. Jackson, *Classical Electrodynamics*, 3rd ed. (1999), section 12.1.
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002), 1.5.
"""

from __future__ import annotations

from typing import Any, final

import torch
from torch import Tensor

from symnet.groups import Generator, Rotation, TimeShift, Translation
from symnet.systems._helpers import finite, normal, positive
from symnet.systems.system import Symmetry, System

__all__ = ["ChargeInMagneticField"]


@final
class ChargeInMagneticField(System):
    """A particle of mass ``m`` and charge ``e`` in the field ``B e_z``, ``S = (1, 3)``.

    - ``L = 1/2 m |v|^2 - e B y v_x``;
    - canonical momentum ``p = m v + e A = (m v_x - e B y, m v_y, m v_z)``;
    - ``H = |p - e A|^2 / (2 m) = ((p_x + e B y)^2 + p_y^2 + p_z^2) / (2 m)``;
    - acceleration ``a = (e B / m) (v_y, -v_x, 0)``;
    - :meth:`energy` ``= 1/2 m |v|^2`` (the field does no work; equal to ``H``).

    Parameters
    ----------
    m : float
        Positive mass.
    charge : float
        Charge ``e`` (any sign, nonzero for the broken symmetries to be broken).
    B : float
        Field strength (any sign).

    Notes
    -----
    :attr:`symmetries`: the generators ``translation_x`` and ``translation_z``
    of ``Translation(3)``, ``TimeShift()``, and the quasi-symmetry
    ``"rotation_z"`` (``xi = (-y, x, 0)``, ``F = -e B (x^2 - y^2) / 2``;
    charge ``x p_y - y p_x + e B (x^2 - y^2) / 2``). :attr:`broken`:
    ``translation_y`` and the rotations about x and y. With ``e B == 0`` the
    system is free and these lists do not apply (ValueError).

    :meth:`sample_states`: positions and velocities ``~ N(0, I)``.

    Examples
    --------
    >>> from symnet.systems import ChargeInMagneticField
    >>> sys = ChargeInMagneticField()
    >>> [getattr(s, "name", s) for s in sys.symmetries]
    ['translation_x', 'translation_z', 'time', 'rotation_z']
    """

    velocity_dependent = True

    def __init__(self, m: float = 1.0, charge: float = 1.0, B: float = 1.0) -> None:
        self.m = positive("m", m)
        self.charge = finite("charge", charge)
        self.B = finite("B", B)
        if self.charge * self.B == 0:
            raise ValueError(
                f"charge * B must be nonzero (got charge={charge!r}, B={B!r}); without a field "
                "the particle is free and translation_y is not broken"
            )

    def _params(self) -> dict[str, Any]:
        return {"m": self.m, "charge": self.charge, "B": self.B}

    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(1, 3)``."""
        return (1, 3)

    @property
    def field_coupling(self) -> float:
        """``charge * B``."""
        return self.charge * self.B

    def vector_potential(self, q: Tensor) -> Tensor:
        """``A(x) = (-B y, 0, 0)``, shape ``(B, 1, 3)``."""
        y = q[..., 1:2]
        zero = torch.zeros_like(y)
        return torch.cat([-self.B * y, zero, zero], dim=-1)

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = 1/2 m |v|^2 + e v . A``, shape ``(B,)``."""
        self.check_state(q, qdot)
        A = self.vector_potential(q)
        return (0.5 * self.m * qdot * qdot + self.charge * qdot * A).sum((-1, -2))

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a = (e B / m) (v_y, -v_x, 0)``, shape ``(B, 1, 3)``."""
        self.check_state(q, qdot)
        w = self.field_coupling / self.m
        vx, vy = qdot[..., 0:1], qdot[..., 1:2]
        return torch.cat([w * vy, -w * vx, torch.zeros_like(vx)], dim=-1)

    def momentum(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``p = m v + e A``, shape ``(B, 1, 3)``."""
        self.check_state(q, qdot)
        return self.m * qdot + self.charge * self.vector_potential(q)

    def velocity(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``v = (p - e A) / m``, shape ``(B, 1, 3)``."""
        self.check_state(q, p, ("q", "p"))
        return (p - self.charge * self.vector_potential(q)) / self.m

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H = |p - e A|^2 / (2 m)``, shape ``(B,)``."""
        self.check_state(q, p, ("q", "p"))
        k = p - self.charge * self.vector_potential(q)
        return 0.5 * (k * k).sum((-1, -2)) / self.m

    def energy(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``E = 1/2 m |v|^2``, shape ``(B,)``."""
        self.check_state(q, qdot)
        return 0.5 * self.m * (qdot * qdot).sum((-1, -2))

    def rotation_z(self) -> Generator:
        """The quasi-symmetry ``xi = (-y, x, 0)`` with ``F = -e B (x^2 - y^2) / 2``."""
        eB = self.field_coupling
        J = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)

        def boundary(q: Tensor) -> Tensor:
            x, y = q[:, 0, 0], q[:, 0, 1]
            return -0.5 * eB * (x * x - y * y)

        return Generator.linear("rotation_z", J, boundary=boundary)

    def _translations(self, names: tuple[str, ...]) -> list[Generator]:
        return [g for g in Translation(3).generators((1, 3)) if g.name in names]

    def _rotations(self, names: tuple[str, ...]) -> list[Generator]:
        return [g for g in Rotation(3).generators((1, 3)) if g.name in names]

    @property
    def symmetries(self) -> list[Symmetry]:
        """``translation_x``, ``translation_z``, ``TimeShift()``, ``rotation_z`` (quasi)."""
        return [
            *self._translations(("translation_x", "translation_z")),
            TimeShift(),
            self.rotation_z(),
        ]

    @property
    def broken(self) -> list[Symmetry]:
        """``translation_y``, ``rotation_x``, ``rotation_y``."""
        return [
            *self._translations(("translation_y",)),
            *self._rotations(("rotation_x", "rotation_y")),
        ]

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """``n`` states of shape ``(n, 1, 3)``; distribution in the class notes."""
        return normal((n, 1, 3), 1.0, rng), normal((n, 1, 3), 1.0, rng)
