"""Lagrangian and Hamiltonian networks invariant under E(d) x S_N by construction.

For N identical particles in d dimensions, ``q`` and ``qdot`` of shape
``(B, N, d)``. The learned scalar is built only from quantities that no
translation, rotation, reflection or relabelling of the particles changes, so
the symmetries hold for every weight, before any training, to round-off:

- the potential ``V(q)`` is a Deep Set over the unordered pairs ``i < j`` of
  the pair features of :class:`symnet.nn.InvariantFeatures` (squared
  distances ``|x_i - x_j|^2``): ``V = rho(sum_{i<j} phi(r2_ij))``
  (``encoder="pairs"``, the default); or the summed node outputs of an
  :class:`symnet.nn.EGNN` on the positions (``encoder="egnn"``);
- the kinetic term is ``T = 1/2 m sum_i |qdot_i|^2`` with one learned mass
  ``m = exp(log_m) > 0`` shared by all particles.

Why this kinetic term. A learned Lagrangian needs a nonsingular mass matrix
``d2L/dqdot2`` for its Euler-Lagrange equations to have a solution; here it
is ``m I``, positive definite for every weight. ``|qdot_i|^2`` is invariant
under rotations (velocities rotate as vectors) and translations (velocities
do not change), one shared ``m`` keeps the permutations, and a Galilean boost
changes ``T`` by a total time derivative only. An ``m_i`` per particle would
break the permutation symmetry; a configuration-dependent ``m(q)`` would keep
the symmetries but is not needed for particles with constant masses. Since
the accelerations ``qddot = -grad V / m`` do not determine the overall scale
of ``L``, ``m`` is a unit more than a measurement (fix it with ``mass=``).

By Noether's theorem the model then conserves, along its own flow, the total
momentum (translations), the angular momentum (rotations) and its energy
(time shifts): :func:`symnet.noether.check` reports them ``conserved``.

References
----------
M. Cranmer et al., "Lagrangian Neural Networks", arXiv:2003.04630 (2020).
S. Greydanus et al., "Hamiltonian Neural Networks", NeurIPS (2019).
M. Zaheer et al., "Deep Sets", NeurIPS (2017).
V. G. Satorras, E. Hoogeboom, M. Welling, "E(n) Equivariant Graph Neural
Networks", ICML (2021).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import grad

from symnet.models._options import choice, flag, integer, optional_real
from symnet.models.hnn import HamiltonianView
from symnet.models.lnn import LagrangianView
from symnet.models.mlp import activation_factory, check_activation
from symnet.models.model import PhysicsModel

__all__ = ["InvariantPotential", "SymmetricLNN", "SymmetricHNN"]

_ENCODERS = ("pairs", "egnn")


class InvariantPotential(nn.Module):
    """A scalar of N points (and vectors) invariant under E(d) x S_N.

    Parameters
    ----------
    hidden : int
        Width of the networks.
    layers : int
        Layers of ``phi`` and of ``rho`` (Deep Sets) or EGNN layers.
    activation : str or callable
        Smooth activation of the Deep Set (default ``"silu"``).
    encoder : {"pairs", "egnn"}
        Deep Set over the pairs ``i < j`` of :class:`symnet.nn.InvariantFeatures`,
        or the node outputs of an :class:`symnet.nn.EGNN` summed over particles.
    velocities : bool
        Also take vectors ``v`` (momenta): the Deep Set then runs over all
        ordered pairs ``(i, j)``, diagonal included, with the features
        ``r2, v_i . v_j, (x_i - x_j) . v_i, (x_j - x_i) . v_j`` (``"pairs"`` only).
    """

    def __init__(
        self,
        hidden: int = 64,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "silu",
        encoder: str = "pairs",
        velocities: bool = False,
    ) -> None:
        super().__init__()
        from symnet.nn import EGNN, DeepSets, InvariantFeatures

        hidden = integer(hidden, "hidden", minimum=1)
        layers = integer(layers, "layers", minimum=1)
        check_activation(activation)
        encoder = choice(encoder, "encoder", _ENCODERS)
        velocities = flag(velocities, "velocities")
        if velocities and encoder != "pairs":
            raise ValueError("velocities=True needs encoder='pairs'")
        self.encoder, self.velocities = encoder, velocities
        if encoder == "pairs":
            self.features = InvariantFeatures(output="pair")
            n_feat = len(self.features.pair_names(velocities=self.velocities))
            self.sets = DeepSets(
                n_feat,
                hidden,
                1,
                phi_layers=layers,
                rho_layers=layers,
                reduction="sum",
                activation=activation_factory(activation),
            )
        else:
            self.egnn = EGNN(1, hidden, 1, n_layers=layers)

    def forward(self, x: Tensor, v: Tensor | None = None) -> Tensor:
        """The invariant scalar.

        Parameters
        ----------
        x : Tensor, shape (B, N, d)
            Positions (kind ``point``).
        v : Tensor, shape (B, N, d), optional
            Velocities or momenta (kind ``vector``), with ``velocities=True``.

        Returns
        -------
        Tensor, shape (B,)
        """
        if self.encoder == "egnn":
            h = torch.ones(*x.shape[:-1], 1, dtype=x.dtype, device=x.device)
            return self.egnn(h, x)[0].sum((-1, -2))
        if self.velocities:
            if v is None:
                raise ValueError("this potential was built with velocities=True: pass v")
            pair = self.features(x, v)  # (B, N, N, F)
            return self.sets(pair.flatten(-3, -2)).squeeze(-1)
        n = x.shape[-2]
        i, j = torch.triu_indices(n, n, 1, device=x.device)
        pair = self.features(x)[..., i, j, :]  # (B, N (N - 1) / 2, F)
        return self.sets(pair).squeeze(-1)

    def extra_repr(self) -> str:
        """The encoder and whether vectors enter."""
        return f"encoder={self.encoder!r}, velocities={self.velocities}"


class _SymmetricBase(PhysicsModel):
    """Shared constructor parts: the potential and the mass.

    The models declare their symmetry like the layers do (``group``,
    ``in_kinds``, ``out_kinds``), so that testing one is a single line:
    ``symnet.testing.assert_equivariant(model, (q, qdot))``.
    """

    in_kinds: tuple[str, ...] = ("point", "vector")

    @property
    def group(self) -> Any:
        """``E(d) x S_N`` (translations, rotations for ``d >= 2``, permutations)."""
        from symnet.groups import Permutation, Rotation, Translation

        d = self.config_shape[1]
        euclidean = Translation(d) * Rotation(d) if d >= 2 else Translation(d)
        return euclidean * Permutation()

    def _setup(
        self,
        n_particles: int,
        dim: int,
        hidden: int,
        layers: int,
        activation: Any,
        encoder: str,
        mass: float | None,
        velocities: bool = False,
    ) -> None:
        n_particles = integer(n_particles, "n_particles", minimum=2)
        dim = integer(dim, "dim", minimum=1)
        mass = optional_real(mass, "mass", positive=True)
        self.config_shape = (n_particles, dim)
        self.hidden = integer(hidden, "hidden", minimum=1)
        self.layers = integer(layers, "layers", minimum=1)
        self.activation = check_activation(activation)
        self.encoder = choice(encoder, "encoder", _ENCODERS)
        self.potential_net = InvariantPotential(
            self.hidden, self.layers, activation, self.encoder, velocities
        )
        self.fixed_mass = mass
        if mass is None:
            self.log_mass = nn.Parameter(torch.zeros(()))
        else:
            self.register_buffer("log_mass", torch.tensor(math.log(mass)))

    @property
    def mass(self) -> Tensor:
        """The shared particle mass ``m = exp(log_m)``, a 0-d tensor (> 0)."""
        return self.log_mass.exp()

    def potential(self, q: Tensor) -> Tensor:
        """``V(q)``, shape (B,) for ``q`` of shape (B, N, d); invariant under E(d) x S_N."""
        self._check_dtype(("q", q))
        return self.potential_net(q)

    def _force(self, q: Tensor) -> Tensor:
        """``-grad V``, shape (B, N, d) (one reverse pass over the summed batch)."""
        return -grad(lambda x: self.potential_net(x).sum())(q)

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        n, d = self.config_shape
        return {
            "n_particles": n,
            "dim": d,
            "hidden": self.hidden,
            "layers": self.layers,
            "activation": self.activation,
            "encoder": self.encoder,
            "mass": self.fixed_mass,
        }


class SymmetricLNN(_SymmetricBase):
    """``L = 1/2 m sum_i |qdot_i|^2 - V(q)``, invariant under translations, rotations, permutations.

    See the module docstring for the construction and the choice of kinetic
    term. The acceleration is the Euler-Lagrange solution ``-grad V / m``,
    computed in closed form (the mass matrix is ``m I``); it equals
    :func:`symnet.mechanics.lagrangian_vector_field` of :meth:`lagrangian`.

    Parameters
    ----------
    n_particles, dim : int
        ``N`` and ``d``: configurations of shape (N, d).
    hidden, layers, activation, encoder
        The potential network (:class:`InvariantPotential`).
    mass : float, optional
        Fix ``m``; default learned (initialised to 1).

    Examples
    --------
    >>> import torch
    >>> model = SymmetricLNN(4, 3, hidden=16)
    >>> q, qdot = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    >>> model.lagrangian(q, qdot).shape, model(q, qdot).shape
    (torch.Size([2]), torch.Size([2, 4, 3]))
    """

    form = "lagrangian"
    default_target = "acceleration"

    out_kinds: tuple[str, ...] = ("vector",)

    def __init__(
        self,
        n_particles: int,
        dim: int = 3,
        *,
        hidden: int = 64,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "silu",
        encoder: str = "pairs",
        mass: float | None = None,
    ) -> None:
        super().__init__()
        self._setup(n_particles, dim, hidden, layers, activation, encoder, mass)

    def __repr__(self) -> str:
        n, d = self.config_shape
        m = "learned" if self.fixed_mass is None else f"{self.fixed_mass:g}"
        return (
            f"SymmetricLNN(N={n}, d={d}, T=1/2 m |qdot|^2 (m {m}), "
            f"V=InvariantPotential({self.encoder}, hidden={self.hidden}, layers={self.layers}))"
        )

    def kinetic(self, qdot: Tensor) -> Tensor:
        """``T = 1/2 m sum_i |qdot_i|^2``, shape (B,)."""
        return 0.5 * self.mass.to(qdot.dtype) * (qdot * qdot).sum((-1, -2))

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L = T - V``, shape (B,) for ``q, qdot`` of shape (B, N, d); ``t`` ignored."""
        self._check_dtype(("q", q), ("qdot", qdot))
        return self.kinetic(qdot) - self.potential_net(q)

    def _acceleration(self, q: Tensor, qdot: Tensor) -> Tensor:
        return self._force(q) / self.mass.to(q.dtype)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qddot = -grad V / m``, shape (B, N, d)."""
        self._check(q, qdot)
        return self._acceleration(q, qdot)

    def forward(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """:meth:`acceleration`."""
        return self.acceleration(q, qdot, t)

    @property
    def field(self) -> Any:
        """The acceleration field (velocity independent: leapfrog applies)."""
        from symnet.mechanics import SecondOrderField

        return SecondOrderField(
            self._acceleration, source=self.lagrangian, velocity_dependent=False
        )

    def as_lagrangian(self) -> LagrangianView:
        """``L`` as a module sharing this model's parameters (for the float64 checkers)."""
        return LagrangianView(self)


class SymmetricHNN(_SymmetricBase):
    """A Hamiltonian invariant under translations, rotations and permutations by construction.

    ``separable=True`` (default): ``H = sum_i |p_i|^2 / (2 m) + V(q)``, the
    Legendre transform of :class:`SymmetricLNN`. ``separable=False``: ``H`` is
    an :class:`InvariantPotential` of positions and momenta (a Deep Set over
    the invariant pair features of ``(q, p)``).

    Parameters
    ----------
    n_particles, dim : int
        ``N`` and ``d``.
    hidden, layers, activation, encoder
        The network of ``V`` (or of ``H``).
    mass : float, optional
        Fix ``m`` (separable form); default learned.
    separable : bool
        See above.

    Examples
    --------
    >>> import torch
    >>> model = SymmetricHNN(3, 2, hidden=16)
    >>> q, p = torch.randn(5, 3, 2), torch.randn(5, 3, 2)
    >>> model.hamiltonian(q, p).shape
    torch.Size([5])
    """

    form = "hamiltonian"
    default_target = "time_derivative"

    out_kinds: tuple[str, ...] = ("vector", "vector")

    def __init__(
        self,
        n_particles: int,
        dim: int = 3,
        *,
        hidden: int = 64,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "silu",
        encoder: str = "pairs",
        mass: float | None = None,
        separable: bool = True,
    ) -> None:
        super().__init__()
        self.separable = flag(separable, "separable")
        self._setup(n_particles, dim, hidden, layers, activation, encoder, mass, not self.separable)
        self._field: Any = None

    def config(self) -> dict[str, Any]:
        """Constructor arguments."""
        return {**super().config(), "separable": self.separable}

    def __repr__(self) -> str:
        n, d = self.config_shape
        if self.separable:
            m = "learned" if self.fixed_mass is None else f"{self.fixed_mass:g}"
            body = f"H=|p|^2/(2m) (m {m}) + V"
        else:
            body = "H"
        return (
            f"SymmetricHNN(N={n}, d={d}, {body}=InvariantPotential({self.encoder}, "
            f"hidden={self.hidden}, layers={self.layers}))"
        )

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H(q, p)``, shape (B,) for ``q, p`` of shape (B, N, d); ``t`` ignored."""
        self._check_dtype(("q", q), ("p", p))
        return self._hamiltonian(q, p)

    def _hamiltonian(self, q: Tensor, p: Tensor) -> Tensor:
        if self.separable:
            kin = 0.5 * (p * p).sum((-1, -2)) / self.mass.to(p.dtype)
            return kin + self.potential_net(q)
        return self.potential_net(q, p)

    @property
    def field(self) -> Any:
        """Hamilton's equations of ``H`` (separable: leapfrog applies)."""
        if self._field is None or self._field[0] != id(self):
            from symnet.mechanics import hamiltonian_vector_field

            H = self._hamiltonian
            self._field = id(self), hamiltonian_vector_field(H, separable=self.separable)
        return self._field[1]

    def time_derivative(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot) = (dH/dp, -dH/dq)``, each of shape (B, N, d)."""
        self._check(q, p, ("q", "p"))
        return self.field(q, p)

    def forward(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`time_derivative`."""
        return self.time_derivative(q, p, t)

    def as_hamiltonian(self) -> HamiltonianView:
        """``H`` as a module sharing this model's parameters (for the float64 checkers)."""
        return HamiltonianView(self)
