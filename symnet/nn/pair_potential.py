"""A learned pair potential over a neighbour list: :class:`PairPotential`.

``E(q) = sum_{i<j, r_ij < r_c} phi_theta(r_ij) s(r_ij)`` with ``phi_theta`` a
small MLP of ``(r / r_c, r_c / r)`` and ``s(r) = (1 - (r / r_c)^2)^2`` a
switching function, so that the pair energy and its derivative both vanish
at the cutoff (smooth forces: velocity Verlet conserves the energy at its
order, as with a force-shifted potential). Distances are minimum-image under
a :class:`~symnet.groups.PeriodicBox` (or plain, in open space), the pairs
come from a :class:`~symnet.systems.neighbours.NeighbourList` with a skin
cached on the module (time and memory O(N)), and the forces are ``-dE/dq``
by autograd.

The energy depends on pair distances only: it is invariant under
translations of the box (``Translation(d, box=box)``), permutations and time
shifts, so its dynamics conserve momentum and energy; the box breaks
rotations (angular momentum changes by the torque of the minimum-image
forces). The architecture of a pair-MLP potential is that of the classical
learned pair potentials (e.g. the pair term of J. Behler and M. Parrinello,
PRL 98 (2007) 146401, with a cosine-like cutoff function); the switching
function follows M. P. Allen and D. J. Tildesley, *Computer Simulation of
Liquids*, 2nd ed. (2017), sec. 5.2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from symnet.groups import PeriodicBox, Permutation, Rotation, Translation
from symnet.systems.neighbours._cache import ListCache
from symnet.systems.neighbours._checks import nonfinite_configurations

__all__ = ["PairPotential"]


def _positive(value: Any, name: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    x = float(value)
    if not (math.isfinite(x) and (x >= 0.0 if zero else x > 0.0)):
        kind = "non-negative" if zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number, got {value!r}")
    return x


class PairPotential(nn.Module):
    """A learned pair potential ``E(q) = sum_{i<j} phi_theta(r_ij) s(r_ij)`` with a cutoff.

    Parameters
    ----------
    cutoff : float
        Interaction range ``r_c`` (positive; under a box at most half its
        smallest side).
    box : PeriodicBox, optional
        Periodic box (minimum-image distances); ``None`` for open space.
    hidden : sequence of int
        Widths of the MLP's hidden layers (SiLU activations).
    skin : float
        Neighbour-list skin (``>= 0``); under a box reduced to
        ``min(L)/2 - cutoff`` if larger.
    mass : float
        Common particle mass of :meth:`lagrangian` and :meth:`acceleration`.

    Attributes
    ----------
    group, in_kinds, out_kinds
        The declared symmetry, so that ``assert_equivariant(pot, (q,))`` is
        one line: invariance of the energy of points ``(B, N, d)`` under
        ``Translation(d, box=box) * Permutation()`` in a box, and
        ``Translation(3) * Rotation(3) * Permutation()`` in open space (3-D).

    Notes
    -----
    Positions ``q`` have shape ``(B, N, d)`` (energy ``(B,)``) or ``(N, d)``
    (energy ``()``), ``d`` the box dimension; they may be unwrapped. At top
    level and under ``torch.func.grad``, ``vjp`` and ``jvp`` the pairs come
    from a neighbour list cached per batch shape, dtype and device, rebuilt
    when a particle moved more than ``skin / 2`` (so the cache never changes
    a result). Under ``torch.func.vmap`` (per-sample derivatives, as in the
    Noether checker's probe) the list gives the pairs of one cell list over
    the mapped configurations, untouched itself: the same numbers, memory
    O(N) per configuration. The module is created in torch's default dtype;
    call ``.double()`` for float64.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import PeriodicBox
    >>> from symnet.nn import PairPotential
    >>> _ = torch.manual_seed(0)
    >>> pot = PairPotential(2.5, box=PeriodicBox(6.0, dim=3), hidden=(16,)).double()
    >>> q = 6.0 * torch.rand(4, 20, 3, dtype=torch.float64)
    >>> pot(q).shape, pot.forces(q).shape
    (torch.Size([4]), torch.Size([4, 20, 3]))
    >>> pot.lagrangian(q, torch.zeros_like(q)).shape
    torch.Size([4])
    """

    def __init__(
        self,
        cutoff: float,
        box: PeriodicBox | None = None,
        hidden: Sequence[int] = (32, 32),
        skin: float = 0.3,
        mass: float = 1.0,
    ) -> None:
        super().__init__()
        if box is not None and not isinstance(box, PeriodicBox):
            raise ValueError(
                f"box must be a symnet.groups.PeriodicBox or None, got {type(box).__name__}"
            )
        self.box = box
        self.cutoff = _positive(cutoff, "cutoff")
        if box is not None:
            box.check_cutoff(self.cutoff, "cutoff")
        skin = _positive(skin, "skin", zero=True)
        if box is not None:
            skin = min(skin, float(box.lengths.min()) / 2.0 - self.cutoff)
        self.skin = skin
        self.mass = _positive(mass, "mass")
        if isinstance(hidden, (int, str)) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden
        ):
            raise ValueError(f"hidden must be a sequence of positive ints, got {hidden!r}")
        widths = [2, *hidden, 1]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), nn.SiLU()]
        self.mlp = nn.Sequential(*layers[:-1])
        self._lists = ListCache(self.cutoff, self.skin, box)
        # the declaration read by assert_equivariant(pot, (q,)): an invariant energy of
        # points under the translations of the box (or of space, with rotations) and
        # relabellings of the particles
        d = 3 if box is None else box.dim
        self.group = (
            Translation(d) * Rotation(d) * Permutation()
            if box is None
            else Translation(d, box=box) * Permutation()
        )
        self.in_kinds, self.out_kinds = ("point",), None

    def extra_repr(self) -> str:
        """Cutoff, box, skin and mass (shown by ``repr``)."""
        return f"cutoff={self.cutoff!r}, box={self.box!r}, skin={self.skin!r}, mass={self.mass!r}"

    # ------------------------------------------------------------------ pair energy
    def pair_energy(self, r: Tensor) -> Tensor:
        """``phi_theta(r) s(r)`` for ``r < cutoff``, exactly 0 beyond; same shape as ``r``.

        ``r`` must be positive where it is below the cutoff.
        """
        inside = r < self.cutoff
        x = torch.where(inside, r, torch.full_like(r, self.cutoff)) / self.cutoff
        features = torch.stack([x, 1.0 / x], dim=-1)
        switch = (1.0 - x * x) ** 2
        e = self.mlp(features).squeeze(-1) * switch
        return torch.where(inside, e, torch.zeros_like(e))

    def _check(self, q: Any) -> Tensor:
        if not isinstance(q, Tensor) or not q.is_floating_point():
            raise ValueError(f"q must be a floating-point tensor, got {type(q).__name__}")
        d = self.box.dim if self.box is not None else None
        if q.dim() not in (2, 3) or (d is not None and q.shape[-1] != d):
            want = f"(B, N, {d}) or (N, {d})" if d is not None else "(B, N, d) or (N, d)"
            raise ValueError(f"q must have shape {want}, got {tuple(q.shape)}")
        if q.shape[-2] < 2:
            raise ValueError(f"q must hold at least 2 particles, got shape {tuple(q.shape)}")
        return q

    def neighbour_list(self, q: Tensor) -> Any:
        """The cached :class:`~symnet.systems.neighbours.NeighbourList` for ``q``'s shape.

        At most eight are kept (the oldest is dropped).
        """
        return self._lists.get(q)

    def _displacements(self, q: Tensor) -> tuple[Tensor, Tensor | None]:
        """Pair displacements ``(P, d)`` and their configuration index (None unbatched)."""
        pairs = self.neighbour_list(q).update(q)
        return pairs.displacements(q), pairs.batch

    # ------------------------------------------------------------------ energy, forces
    def forward(self, q: Tensor) -> Tensor:
        """The energy ``E(q)``: ``(B,)`` for ``q`` of shape ``(B, N, d)``, ``()`` for ``(N, d)``.

        NaN for a configuration holding NaN/inf (a diverged rollout then reports
        its step instead of the neighbour list refusing the positions).
        """
        q = self._check(q)
        bad = nonfinite_configurations(q)
        if bad is not None:
            if q.dim() == 2:
                return q.sum() * math.nan
            out = q.new_full((q.shape[0],), math.nan)
            return out.masked_scatter(~bad, self(q[~bad])) if (~bad).any() else out
        dx, batch = self._displacements(q)
        r2 = (dx * dx).sum(-1)
        inside = r2 < self.cutoff**2
        r = torch.sqrt(torch.where(inside, r2, torch.full_like(r2, self.cutoff**2)))
        e = self.pair_energy(r)
        if batch is None:
            return e.sum()
        return e.new_zeros(q.shape[0]).index_add(0, batch, e)

    def forces(self, q: Tensor, create_graph: bool = False) -> Tensor:
        """``F = -dE/dq`` by autograd, shape of ``q``.

        ``create_graph=True`` keeps the graph (to train on forces). Runs in
        grad mode even under ``torch.no_grad()``; not inside ``torch.func``
        transforms (use ``torch.func.grad`` of the module there).
        """
        q = self._check(q)
        with torch.enable_grad():
            x = q if q.requires_grad else q.detach().requires_grad_(True)
            E = self(x).sum()
            (g,) = torch.autograd.grad(E, x, create_graph=create_graph)
        return -g

    def lagrangian(self, q: Tensor, qdot: Tensor) -> Tensor:
        """``L = sum_i 1/2 m |qdot_i|^2 - E(q)``, shape ``(B,)``; ``q, qdot`` ``(B, N, d)``."""
        q = self._check(q)
        if not isinstance(qdot, Tensor) or qdot.shape != q.shape:
            got = tuple(qdot.shape) if isinstance(qdot, Tensor) else type(qdot).__name__
            raise ValueError(f"qdot must have the shape of q {tuple(q.shape)}, got {got}")
        kinetic = 0.5 * self.mass * (qdot * qdot).flatten(-2).sum(-1)
        return kinetic - self(q)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``a = F / m`` (:meth:`forces`), shape of ``q``: a field for ``rollout`` and ``check``."""
        return self.forces(q) / self.mass
