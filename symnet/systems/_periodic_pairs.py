"""Particles in a periodic box with a short-ranged pair potential: the shared base.

``L = sum_i 1/2 m |v_i|^2 - sum_{i<j, r_ij < r_c} phi_s(r_ij)`` with ``r_ij`` the
minimum-image distance in a :class:`~symnet.groups.PeriodicBox` and ``phi_s``
the pair potential cut at ``r_c`` and shifted so that it vanishes there:

- ``shift="energy"``: ``phi_s(r) = phi(r) - phi(r_c)`` (the standard
  cut-and-shift; the force jumps at ``r_c``);
- ``shift="force"``: ``phi_s(r) = phi(r) - phi(r_c) - (r - r_c) phi'(r_c)``
  (force-shifted: energy and force both continuous at ``r_c``).

Positions may be unwrapped (outside the box): the potential uses minimum-image
displacements, so it is periodic in every particle and smooth wherever no pair
sits exactly at ``r_c`` (``r_c <= L/2``, so minimum image is exact).

Pairs come from a :class:`~symnet.systems.neighbours.NeighbourList` (cell list
with a skin, time and memory O(N)) cached on the instance per batch shape,
dtype and device; its :meth:`~symnet.systems.neighbours.NeighbourList.update`
rebuilds whenever a particle moved more than half the skin from the positions
of the last build, so the cache never changes a result, only the work. It
also serves ``torch.func`` transforms: under ``grad``, ``vjp`` and ``jvp`` as
at top level, under ``vmap`` with the pairs of one cell list over the mapped
configurations (the list itself untouched), so the Lagrangian is
differentiable per sample at memory O(N) per configuration too. The
neighbour list is data-dependent, so ``torch.compile`` cannot trace the
forces: a rollout with ``compile=True`` runs them eagerly (with a warning;
pass ``compile=False``).

Symmetries: translations of the torus (``Translation(d, box=box)``),
Galilean boosts (the potential depends on differences only, and the charge
``sum_i m x_i - P t`` uses the unwrapped positions), permutations (equal
masses) and time shifts; rotations are broken by the box.

References
----------
M. P. Allen, D. J. Tildesley, *Computer Simulation of Liquids*, 2nd ed.,
Oxford (2017), sec. 1.6 (periodic boundaries, minimum image) and 2.6 and 5.3
(truncated, shifted and force-shifted potentials; Verlet and cell lists).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import torch
from torch import Tensor

from symnet._functorch import vmapped
from symnet.groups import Boost, PeriodicBox, Permutation, Rotation, TimeShift, Translation
from symnet.systems._helpers import integer, nonnegative, positive
from symnet.systems._point_mass import PointMasses
from symnet.systems.neighbours import NeighbourList
from symnet.systems.neighbours._cache import ListCache
from symnet.systems.neighbours._checks import nonfinite_configurations
from symnet.systems.system import Symmetry

__all__ = ["PeriodicPairSystem", "as_box"]

_SHIFTS = ("energy", "force")


def as_box(box: Any) -> PeriodicBox:
    """``box`` if a :class:`PeriodicBox`; a positive number is a cubic 3-D box of that side."""
    if isinstance(box, PeriodicBox):
        return box
    if isinstance(box, bool) or not isinstance(box, (int, float)):
        raise TypeError(
            f"box must be a symnet.groups.PeriodicBox or a positive float (the side of a "
            f"cubic 3-d box), got {type(box).__name__} {box!r}"
        )
    return PeriodicBox(positive("box", box), dim=3)


def lattice_cells(N: int, d: int) -> int:
    """Cells per axis of the smallest face-centred lattice with at least ``N`` sites."""
    per_cell = 2 ** (d - 1)
    n = max(1, math.ceil((N / per_cell) ** (1.0 / d) - 1e-9))
    while per_cell * n**d < N:  # guard the floating-point root
        n += 1
    return n


def lattice(N: int, box: PeriodicBox) -> Tensor:
    """The first ``N`` sites of the smallest face-centred lattice in ``box`` holding them.

    Cells per axis ``n = ceil((N / 2^(d-1))^(1/d))``; the basis of a cell is the
    ``2^(d-1)`` corners of ``{0, 1/2}^d`` with an even number of halves (the fcc
    basis in 3-D, the centred square in 2-D). Float64, shape ``(N, d)``, in
    ``[0, L)`` per axis; for ``N = 2^(d-1) n^d`` the full lattice.
    """
    d = box.dim
    n = lattice_cells(N, d)
    corners = torch.cartesian_prod(*[torch.tensor([0.0, 0.5], dtype=torch.float64)] * d)
    corners = corners.reshape(-1, d)
    basis = corners[(2 * corners).sum(-1).remainder(2) == 0]
    cells = torch.cartesian_prod(*[torch.arange(n, dtype=torch.float64)] * d).reshape(-1, d)
    sites = (cells[:, None, :] + basis[None, :, :]).reshape(-1, d)[:N]
    return (sites + 0.25) / n * box.lengths  # offset a quarter cell off the faces


class PeriodicPairSystem(PointMasses):
    """Abstract base: ``N`` identical particles in a periodic box, cut-and-shifted pair potential.

    Subclasses set their potential's parameters, call :meth:`_setup`, and
    implement :meth:`_raw` (the unshifted ``phi`` and ``phi'(r) / r`` from
    ``r^2``) and :meth:`_params`.

    Attributes
    ----------
    N : int
        Number of particles.
    box : PeriodicBox
        The periodic box; ``dim`` is its dimension.
    cutoff : float
        ``r_c``, at most half the smallest box side.
    skin : float
        Skin of the neighbour lists actually used: the ``skin`` given, reduced
        to ``min(L)/2 - cutoff`` if larger (a Verlet list needs
        ``cutoff + skin <= min(L)/2``).
    m : float
        The common mass.
    temperature : float
        Temperature ``kT`` of :meth:`sample_states` (``k_B = 1``).
    shift : str
        ``"energy"`` or ``"force"`` (module docstring).
    """

    N: int
    box: PeriodicBox
    dim: int
    cutoff: float
    skin: float
    m: float
    temperature: float
    shift: str

    def _setup(
        self,
        N: int,
        box: Any,
        cutoff: float,
        skin: float,
        mass: float,
        temperature: float,
        shift: str,
    ) -> None:
        self.N = integer("N", N, minimum=2)
        self.box = as_box(box)
        self.dim = self.box.dim
        self.cutoff = self.box.check_cutoff(positive("cutoff", cutoff), "cutoff")
        half = float(self.box.lengths.min()) / 2.0
        self.skin = min(nonnegative("skin", skin), half - self.cutoff)
        self.m = positive("mass", mass)
        self.temperature = positive("temperature", temperature)
        if shift not in _SHIFTS:
            raise ValueError(f"shift must be 'energy' or 'force', got {shift!r}")
        self.shift = shift
        rc2 = torch.tensor(self.cutoff**2, dtype=torch.float64)
        phi_c, g_c = self._raw(rc2)
        self._phi_c = float(phi_c)
        self._dphi_c = float(g_c) * self.cutoff  # phi'(r_c)
        self._lists = ListCache(self.cutoff, self.skin, self.box)

    @abstractmethod
    def _raw(self, r2: Tensor) -> tuple[Tensor, Tensor]:
        """Unshifted ``(phi(r), phi'(r) / r)`` from squared distances ``r2`` (any shape)."""

    # ------------------------------------------------------------------ structure
    @property
    def config_shape(self) -> tuple[int, ...]:
        """``(N, d)``."""
        return (self.N, self.dim)

    @property
    def density(self) -> float:
        """Number density ``N / volume``."""
        return self.N / self.box.volume

    @property
    def symmetries(self) -> list[Symmetry]:
        """``Translation(d, box=box)``, ``Boost(d, m)``, ``Permutation()``, ``TimeShift()``."""
        return [
            Translation(self.dim, box=self.box),
            Boost(self.dim, self.m),
            Permutation(),
            TimeShift(),
        ]

    @property
    def broken(self) -> list[Symmetry]:
        """``Rotation(d)``: the box has preferred axes (``d >= 2``)."""
        return [Rotation(self.dim)] if self.dim >= 2 else []

    # ------------------------------------------------------------------ pair potential
    def pair_potential(self, r: Tensor) -> Tensor:
        """The shifted pair potential ``phi_s(r)`` (zero for ``r >= cutoff``), elementwise."""
        r2 = r * r
        return self._masked(r2)[0]

    def _masked(self, r2: Tensor) -> tuple[Tensor, Tensor]:
        """``(phi_s, phi_s'(r) / r)`` of squared distances, both zero at and beyond ``r_c``."""
        rc2 = self.cutoff**2
        inside = r2 < rc2
        safe = torch.where(inside, r2, torch.full_like(r2, rc2))
        phi, g = self._raw(safe)
        phi = phi - self._phi_c
        if self.shift == "force":
            r = torch.sqrt(safe)
            phi = phi - (r - self.cutoff) * self._dphi_c
            g = g - self._dphi_c / r
        zero = torch.zeros_like(phi)
        return torch.where(inside, phi, zero), torch.where(inside, g, zero)

    # ------------------------------------------------------------------ pairs
    def neighbour_list(self, q: Tensor) -> NeighbourList:
        """The cached :class:`NeighbourList` for ``q``'s batch shape, dtype and device.

        Created on first use (``cutoff``, :attr:`skin`, :attr:`box`); at most
        eight are kept (the oldest is dropped). Using it never changes a
        result: it rebuilds when a particle moved more than ``skin / 2``.
        """
        return self._lists.get(q)

    def _pairs(self, q: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(dx, first, second, batch)``: displacements ``q_j - q_i`` (P, d), flat indices.

        ``first = b N + i``, ``second = b N + j``, ``batch = b``, by the cached
        neighbour list (also inside ``torch.func`` transforms).
        """
        pairs = self.neighbour_list(q).update(q)
        assert pairs.batch is not None
        base = pairs.batch * self.N
        # the list's image shifts are exact within the cutoff (beyond it the mask
        # zeroes the pair): no minimum image per pair and step. Under vmap the list
        # gives unshifted pairs of the mapped configurations: minimum image then.
        dx = pairs.displacements(q) if vmapped() else pairs.shifted_displacements(q)
        return dx, base + pairs.i, base + pairs.j, pairs.batch

    def _check_positions(self, q: Tensor) -> None:
        self.check_state(q, q, ("q", "q"))

    # ------------------------------------------------------------------ mechanics
    def potential(self, q: Tensor) -> Tensor:
        """``V(q) = sum_{i<j} phi_s(r_ij)`` (minimum image), shape ``(B,)``; ``q`` (B, N, d).

        Differentiable by autograd and ``torch.func``; ``q`` may be unwrapped.
        NaN for a configuration holding NaN/inf.
        """
        self._check_positions(q)
        bad = nonfinite_configurations(q)
        if bad is not None:
            out = q.new_full((q.shape[0],), math.nan)
            return out.masked_scatter(~bad, self.potential(q[~bad])) if (~bad).any() else out
        dx, _, _, batch = self._pairs(q)
        e = self._masked((dx * dx).sum(-1))[0]
        return e.new_zeros(q.shape[0]).index_add(0, batch, e)

    def forces(self, q: Tensor) -> Tensor:
        """Closed-form forces ``F_i = -dV/dq_i`` from ``phi_s'``, shape ``(B, N, d)``.

        NaN for a configuration holding NaN/inf.
        """
        self._check_positions(q)
        bad = nonfinite_configurations(q)
        if bad is not None:
            out = torch.full_like(q, math.nan)
            if (~bad).any():
                out[~bad] = self.forces(q[~bad])
            return out
        B, N, d = q.shape
        dx, first, second, _ = self._pairs(q)
        g = self._masked((dx * dx).sum(-1))[1]
        f = g[:, None] * dx  # force on i: phi'(r) (q_j - q_i) / r
        F = q.new_zeros(B * N, d).index_add(0, first, f).index_add(0, second, -f)
        return F.reshape(B, N, d)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a_i = F_i / m`` (:meth:`forces`), shape ``(B, N, d)``."""
        self.check_state(q, qdot)
        return self.forces(q) / self.m

    def temperature_of(self, qdot: Tensor) -> Tensor:
        """Kinetic temperature ``2 T / (d (N - 1))`` (centre of mass at rest), shape ``(B,)``."""
        return 2.0 * self.kinetic(qdot) / (self.dim * (self.N - 1))

    # ------------------------------------------------------------------ states
    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """Lattice positions with jitter and Maxwell-Boltzmann velocities (class notes)."""
        sites = lattice(self.N, self.box)
        spacing = self.box.lengths / lattice_cells(self.N, self.dim)
        u = torch.rand(n, self.N, self.dim, generator=rng, dtype=torch.float64)
        q = sites + (2.0 * u - 1.0) * (0.02 * spacing)
        v = torch.randn(n, self.N, self.dim, generator=rng, dtype=torch.float64)
        v = v - v.mean(dim=1, keepdim=True)
        kinetic = 0.5 * self.m * (v * v).sum((1, 2))
        target = 0.5 * self.dim * (self.N - 1) * self.temperature
        v = v * torch.sqrt(target / kinetic)[:, None, None]
        return q, v

    def _common_params(self) -> dict[str, Any]:
        return {
            "N": self.N,
            "box": self.box,
            "cutoff": self.cutoff,
            "skin": self.skin,
            "mass": self.m,
            "temperature": self.temperature,
            "shift": self.shift,
        }
