"""The abstract :class:`System`: an analytic mechanical system with known symmetries.

Every system states its Lagrangian, its closed-form Euler-Lagrange
acceleration, its canonical momentum and Hamiltonian, its physical energy, a
documented distribution of states, and two lists of symmetries: those that are
exact (:attr:`System.symmetries`) and those that are not
(:attr:`System.broken`, the negative controls of the Noether checker). The
ground truth is described in ``docs/theory.md``, "Ground-truth systems".

Conventions (``docs/theory.md``, "Conventions"): states ``(q, qdot, t)`` with ``q, qdot`` of shape
``(B, *S)``, ``S = System.config_shape``, and ``t`` a float, a 0-d tensor or
of shape ``(B,)`` (``None`` means ``t = 0``); every scalar function returns
shape ``(B,)``. The methods are written in plain tensor code, so they can be
differentiated and vmapped with ``torch.func`` (no data-dependent branches).

References
----------
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002),
ch. 1-2 (Lagrangians), 8 (Hamiltonians), 13 (Noether's theorem).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor
from torch.func import jvp

from symnet._deprecation import MISSING
from symnet._rng import RNG, as_generator
from symnet._util import format_shape
from symnet.groups import Generator, Group
from symnet.systems._data import Trajectories, generate
from symnet.systems._helpers import integer, renamed_generator, time_like

__all__ = ["System", "Symmetry"]

Symmetry = Group | Generator
"""An entry of :attr:`System.symmetries` or :attr:`System.broken`."""


class System(ABC):
    """Abstract base of the analytic systems; every subclass is final.

    Attributes
    ----------
    config_shape : tuple of int
        ``S``: ``(N, d)`` for N particles in d dimensions, ``(n,)`` for
        generalized coordinates.
    velocity_dependent : bool
        Class attribute: the acceleration depends on ``qdot`` (splitting
        integrators such as leapfrog do not apply; use ``"rk4"``).
    time_dependent : bool
        ``L`` depends explicitly on ``t`` (time shifts are then broken). A
        class attribute, set per instance where parameters decide it
        (``DampedOscillator(gamma=0)`` is time independent).

    Notes
    -----
    Every system of this package has a Hamiltonian (its mass matrix is
    constant or everywhere invertible); the base :meth:`hamiltonian` raises
    NotImplementedError for a subclass that does not define one.
    """

    velocity_dependent: bool = False
    time_dependent: bool = False

    # ------------------------------------------------------------------ structure
    @property
    @abstractmethod
    def config_shape(self) -> tuple[int, ...]:
        """``S``, the shape of one configuration."""

    @property
    @abstractmethod
    def symmetries(self) -> list[Symmetry]:
        """Exact (quasi-)symmetries of :meth:`lagrangian`: groups and custom generators.

        Not necessarily all of them. A fresh list on every access.
        """

    @property
    @abstractmethod
    def broken(self) -> list[Symmetry]:
        """Groups and generators that are *not* symmetries (negative controls)."""

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        """Constructor arguments for :meth:`__repr__`."""

    def __repr__(self) -> str:
        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:g}"
            if isinstance(v, Tensor):
                return "[" + ", ".join(f"{x:g}" for x in v.tolist()) + "]"
            if callable(v) and not isinstance(v, str):
                return getattr(v, "__name__", type(v).__name__)
            return repr(v)

        args = ", ".join(f"{k}={fmt(v)}" for k, v in self._params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ mechanics
    @abstractmethod
    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L(q, qdot, t)``, shape ``(B,)``; ``q, qdot`` of shape ``(B, *S)``."""

    @abstractmethod
    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Closed-form Euler-Lagrange acceleration ``qddot``, shape ``(B, *S)``."""

    @abstractmethod
    def momentum(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Canonical momentum ``p = dL/dqdot``, shape ``(B, *S)``."""

    @abstractmethod
    def velocity(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Inverse Legendre map: ``qdot`` with ``momentum(q, qdot, t) == p``, shape ``(B, *S)``."""

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H(q, p, t) = qdot . p - L`` at ``qdot = velocity(q, p, t)``, shape ``(B,)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define a Hamiltonian")

    @abstractmethod
    def energy(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Physical energy for metrics, shape ``(B,)`` (see each system for its formula)."""

    def sample_states(
        self, n: int, rng: RNG = None, *, generator: Any = MISSING
    ) -> tuple[Tensor, Tensor]:
        """``n`` states ``(q, qdot)`` from the system's documented distribution.

        Parameters
        ----------
        n : int
            Number of states ``B``.
        rng : int or torch.Generator, optional
            Seed or generator of the draws; None uses torch's global generator
            (reproducible with ``torch.manual_seed``). ``generator=`` is its
            deprecated name.

        Returns
        -------
        tuple of Tensor
            ``q`` and ``qdot``, each of shape ``(n, *S)``, float64.
        """
        rng = renamed_generator(generator, rng, f"{type(self).__name__}.sample_states")
        return self._sample_states(integer("n", n), as_generator(rng, default=None))

    def _sample_states(self, n: int, rng: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """Draw ``n`` states with ``rng`` (None: the global generator); each subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} does not define _sample_states")

    def momentum_rate(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``dp/dt`` along the solution through ``(q, qdot, t)``, shape ``(B, *S)``.

        The total derivative of :meth:`momentum` in the direction
        ``(qdot, acceleration, 1)``; it equals ``dL/dq`` (Euler-Lagrange) and
        ``-dH/dq``.
        """
        self.check_state(q, qdot)
        t = time_like(t, q)
        a = self.acceleration(q, qdot, t)
        return jvp(self.momentum, (q, qdot, t), (qdot, a, torch.ones_like(t)))[1]

    def phase_velocity(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """Hamilton's equations in closed form: ``(dq/dt, dp/dt)``, each ``(B, *S)``."""
        qdot = self.velocity(q, p, t)
        return qdot, self.momentum_rate(q, qdot, t)

    # ------------------------------------------------------------------ symmetries
    def symmetry_generators(self, broken: bool = False) -> list[Generator]:
        """The continuous generators of :attr:`symmetries` (or of :attr:`broken`).

        Groups are expanded with ``group.generators(config_shape)``; discrete
        groups (permutations) contribute none, see :meth:`discrete_symmetries`.
        """
        out: list[Generator] = []
        for item in self.broken if broken else self.symmetries:
            if isinstance(item, Generator):
                out.append(item)
            elif not item.discrete:
                out.extend(item.generators(self.config_shape))
        return out

    def discrete_symmetries(self, broken: bool = False) -> list[Group]:
        """The discrete groups in :attr:`symmetries` (or in :attr:`broken`)."""
        items = self.broken if broken else self.symmetries
        return [g for g in items if isinstance(g, Group) and g.discrete]

    # ------------------------------------------------------------------ helpers
    def check_state(self, q: Tensor, qdot: Tensor, names: tuple[str, str] = ("q", "qdot")) -> None:
        """Raise ValueError unless ``q`` and ``qdot`` are tensors of shape ``(B, *S)``."""
        S = self.config_shape
        for x, name in zip((q, qdot), names, strict=True):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if tuple(x.shape[1:]) != S or x.dim() != len(S) + 1:
                raise ValueError(
                    f"{type(self).__name__}: {name} must have shape (B, "
                    f"{', '.join(map(str, S))}{',' if len(S) == 1 else ''}), got "
                    f"{format_shape(x.shape)}"
                )
        if q.shape != qdot.shape:
            raise ValueError(
                f"{names[0]} and {names[1]} must have the same shape, got "
                f"{format_shape(q.shape)} and {format_shape(qdot.shape)}"
            )

    @staticmethod
    def check_count(n: Any, rng: RNG = None) -> int:
        """Validate the arguments of :meth:`sample_states`; return ``n``."""
        as_generator(rng, default=None)
        return integer("n", n)

    # ------------------------------------------------------------------ data
    def generate(
        self,
        n_traj: int,
        steps: int,
        dt: float,
        noise: float = 0.0,
        rng: RNG = None,
        method: str = "rk4",
        *,
        generator: Any = MISSING,
        q0: Tensor | None = None,
        qdot0: Tensor | None = None,
        t0: float = 0.0,
        substeps: int = 1,
    ) -> Trajectories:
        """Integrate trajectories from sampled states; exact targets along them.

        Parameters
        ----------
        n_traj : int
            Number of trajectories ``n``.
        steps : int
            Number of recorded steps ``T``; each trajectory has ``T + 1`` states.
        dt : float
            Time between recorded states.
        noise : float, default 0
            Standard deviation of the Gaussian noise added to the observed
            ``q``, ``qdot`` and ``p`` (independent draws); targets stay exact.
        rng : int or torch.Generator, optional
            Seed or generator of the initial states (:meth:`sample_states`)
            and of the noise, in that order; the noise is drawn only when
            ``noise > 0``. None uses torch's global generator. ``generator=``
            is its deprecated name.
        method : str, default "rk4"
            Integrator of :func:`symnet.mechanics.rollout`. Splitting methods
            (``"leapfrog"``, ...) raise for velocity-dependent systems.
        q0, qdot0 : Tensor, optional
            Initial states of shape ``(n, *S)`` instead of sampled ones.
        t0 : float, default 0
            Initial time.
        substeps : int, default 1
            Integration steps per recorded step (the integrator uses
            ``dt / substeps``).

        Returns
        -------
        Trajectories
            Tensors with leading axes ``(T + 1, n)``.
        """
        rng = renamed_generator(generator, rng, f"{type(self).__name__}.generate")
        gen = as_generator(rng, default=None)
        return generate(self, n_traj, steps, dt, noise, gen, method, q0, qdot0, t0, substeps)
