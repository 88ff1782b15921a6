"""Screened Coulomb (Yukawa) particles in a periodic box: :class:`Yukawa`.

``phi(r) = A exp(-kappa r) / r``, cut at ``r_c`` and shifted as in
:class:`~symnet.systems.LennardJones` (the shared periodic base).

References
----------
H. Yukawa, "On the interaction of elementary particles", Proc. Phys.-Math.
Soc. Japan 17 (1935) 48.
M. O. Robbins, K. Kremer, G. S. Grest, "Phase diagram and dynamics of Yukawa
systems", J. Chem. Phys. 88 (1988) 3286.
"""

from __future__ import annotations

from typing import Any, final

import torch
from torch import Tensor

from symnet.groups import PeriodicBox
from symnet.systems._helpers import positive
from symnet.systems._periodic_pairs import PeriodicPairSystem

__all__ = ["Yukawa"]


@final
class Yukawa(PeriodicPairSystem):
    """Cut-and-shifted screened-Coulomb (Yukawa) particles in a periodic box.

    ``L = sum_i 1/2 m |v_i|^2 - sum_{i<j} phi_s(r_ij)``, ``phi(r) = A exp(-kappa r) / r``
    (repulsive, ``A > 0``), shifted at ``r_c`` by ``shift`` exactly as
    :class:`~symnet.systems.LennardJones` (``"energy"``: ``phi(r) - phi(r_c)``;
    ``"force"``: also ``- (r - r_c) phi'(r_c)``). Same symmetries (translations
    of the torus, boosts, permutations, time shifts; rotations broken) and the
    same state distribution (jittered fcc lattice, Maxwell-Boltzmann
    velocities at ``temperature`` with zero total momentum and kinetic energy
    exactly ``d (N - 1) / 2 kT``).

    Parameters
    ----------
    N : int
        Number of particles, ``>= 2``.
    box : PeriodicBox or float
        The periodic box, or the side of a cubic 3-d box.
    cutoff : float
        ``r_c``, ``0 < r_c <= min(L) / 2``.
    kappa : float
        Positive inverse screening length.
    strength : float
        Positive amplitude ``A``.
    mass, skin, shift, temperature
        As for :class:`~symnet.systems.LennardJones` (``shift`` default ``"force"``).

    Examples
    --------
    >>> from symnet.systems import Yukawa
    >>> sys = Yukawa(64, box=8.0, cutoff=4.0, kappa=1.5)
    >>> q, v = sys.sample_states(2, rng=0)
    >>> sys.potential(q).shape, sys.broken
    (torch.Size([2]), [Rotation(3)])
    """

    def __init__(
        self,
        N: int,
        box: PeriodicBox | float,
        cutoff: float,
        kappa: float = 1.0,
        strength: float = 1.0,
        mass: float = 1.0,
        skin: float = 0.3,
        shift: str = "force",
        temperature: float = 1.0,
    ) -> None:
        self.kappa = positive("kappa", kappa)
        self.strength = positive("strength", strength)
        self._setup(N, box, cutoff, skin, mass, temperature, shift)

    def _raw(self, r2: Tensor) -> tuple[Tensor, Tensor]:
        """``(phi, phi'(r) / r)`` of ``A exp(-kappa r) / r``."""
        r = torch.sqrt(r2)
        phi = self.strength * torch.exp(-self.kappa * r) / r
        g = -phi * (self.kappa * r + 1.0) / r2
        return phi, g

    def _params(self) -> dict[str, Any]:
        p = self._common_params()
        return {
            "N": p["N"],
            "box": p["box"],
            "cutoff": p["cutoff"],
            "kappa": self.kappa,
            "strength": self.strength,
            "mass": p["mass"],
            "skin": p["skin"],
            "temperature": p["temperature"],
            "shift": p["shift"],
        }
