"""Lagrangian neural networks: a learned ``L(q, qdot)`` and its Euler-Lagrange dynamics.

:class:`LNN` learns a scalar Lagrangian; its accelerations come from
:func:`symnet.mechanics.lagrangian_vector_field` (batched with ``torch.func``,
differentiable, so the network trains on acceleration targets through the
Euler-Lagrange equations).

Two forms:

- unstructured (``structured=False``, Cranmer et al. 2020): ``L`` is any
  network of ``(q, qdot)``. Its mass matrix ``d2L/dqdot2`` is learned too and
  can be indefinite or singular; the solve is checked and raises
  :class:`~symnet.mechanics.SingularMassMatrixError` rather than returning a
  silent pseudo-inverse (``regularization`` adds ``lam I`` knowingly);
- structured (``structured=True``): ``L = 1/2 qdot^T M(q) qdot - V(q)`` with
  ``M(q) = A(q) A(q)^T + eps I``, positive definite by construction for every
  ``q`` and every weight (Lutter et al. 2019), so the solve always exists.
  ``A(q) = I + MLP(q)`` (``mass="state"``) or a free constant matrix
  initialised to ``I`` (``mass="constant"``: particles with fixed masses; the
  accelerations then do not depend on the velocities and leapfrog applies).

References
----------
M. Cranmer, S. Greydanus, S. Hoyer, P. Battaglia, D. Spergel, S. Ho,
"Lagrangian Neural Networks", ICLR workshop (2020), arXiv:2003.04630.
M. Lutter, C. Ritter, J. Peters, "Deep Lagrangian Networks", ICLR (2019).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from symnet.models._options import choice, flag, optional_real, real
from symnet.models.model import PhysicsModel, scalar_output

__all__ = ["LNN", "LagrangianView"]


class LagrangianView(nn.Module):
    """The Lagrangian of a model as a module ``L(q, qdot) -> (B,)``.

    Shares the model's parameters. Being an ``nn.Module``, it is what the
    float64 checkers take (:func:`symnet.noether.check`,
    :func:`symnet.testing.assert_invariant`): they cast a copy, never the model.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, q: Tensor, qdot: Tensor) -> Tensor:
        """``L(q, qdot)``, shape (B,) for ``q, qdot`` of shape (B, *S)."""
        return self.model.lagrangian(q, qdot)

    def __repr__(self) -> str:
        return f"LagrangianView({self.model!r})"


class LNN(PhysicsModel):
    """A learned Lagrangian and its Euler-Lagrange accelerations.

    Parameters
    ----------
    module : nn.Module, optional
        Any module mapping ``(q, qdot)``, each of shape (B, *S), to ``L`` of
        shape (B,). Default: an :class:`~symnet.models.MLP` on the flattened
        ``(q, qdot)`` (unstructured) or the two MLPs of the structured form.
    config_shape : tuple of int
        ``S``, the shape of one configuration (``(n,)`` or ``(N, d)``).
    hidden, layers, activation
        Width, number of hidden layers and (smooth) activation of the MLPs.
    structured : bool
        ``L = 1/2 qdot^T M(q) qdot - V(q)``, ``M = A A^T + eps I``; ``A`` and
        ``V`` (an MLP ``n -> 1``) are learned.
    periodic : bool
        All coordinates are angles: ``q`` enters the networks as
        ``(cos q, sin q)``, so that ``L`` is ``2 pi``-periodic in each.
    mass : {"state", "constant"}
        Structured form only: ``A(q) = I + MLP(q)`` (an MLP ``n -> n*n``) or a
        constant ``n x n`` matrix ``A`` (initialised to ``I``).
    eps : float
        Smallest eigenvalue added to ``M`` in the structured form (> 0).
    regularization : float
        ``lam >= 0`` of the checked solve ``(M + lam I) qddot = rhs``; settable.
    max_condition : float, optional
        Largest accepted condition number of ``M`` (default: that of the dtype).

    Examples
    --------
    >>> import torch
    >>> model = LNN(config_shape=(2,), hidden=16, layers=2, structured=True)
    >>> q, qdot = torch.randn(5, 2), torch.randn(5, 2)
    >>> model.lagrangian(q, qdot).shape, model(q, qdot).shape
    (torch.Size([5]), torch.Size([5, 2]))
    >>> bool((torch.linalg.eigvalsh(model.mass_matrix(q)) > 0).all())
    True
    """

    form = "lagrangian"
    default_target = "acceleration"

    def __init__(
        self,
        module: nn.Module | None = None,
        *,
        config_shape: tuple[int, ...],
        hidden: int = 128,
        layers: int = 3,
        activation: str | Callable[[], nn.Module] = "softplus",
        structured: bool = False,
        periodic: bool = False,
        mass: str = "state",
        eps: float = 1e-2,
        regularization: float = 0.0,
        max_condition: float | None = None,
    ) -> None:
        super().__init__()
        self._init_network_options(config_shape, hidden, layers, activation)
        self.structured = flag(structured, "structured")
        self.eps = real(eps, "eps", positive=True)
        self.mass_kind = choice(mass, "mass", ("state", "constant"))
        self.custom = module is not None
        self.periodic = flag(periodic, "periodic")
        if self.periodic and module is not None:
            raise TypeError("periodic=True applies to the default networks; pass module=None")
        n = self.n
        nq = 2 * n if self.periodic else n  # width of the embedded q
        if self.structured:
            if module is not None:
                raise TypeError(
                    "structured=True builds its own networks A(q) and V(q); pass module=None"
                )
            if mass == "state":
                self.mass_net = self._mlp(nq, n * n)
            else:
                self.mass_factor = nn.Parameter(torch.eye(n))
            self.potential_net = self._mlp(nq, 1)
        else:
            self.net: nn.Module = self._mlp(nq + n, 1) if module is None else self._module(module)
        self._regularization = 0.0
        self._max_condition = None
        self.max_condition = max_condition
        self.regularization = regularization
        self._field: Any = None
        self._mass_fn: Any = None

    # ----------------------------------------------------------------- options
    @property
    def regularization(self) -> float:
        """``lam`` of the solve ``(M + lam I) qddot = rhs`` (0: the exact, checked solve)."""
        return self._regularization

    @regularization.setter
    def regularization(self, value: float) -> None:
        self._regularization = real(value, "regularization", nonnegative=True)
        self._field = None

    @property
    def max_condition(self) -> float | None:
        """Largest accepted condition number of the mass matrix (None: the dtype's default)."""
        return self._max_condition

    @max_condition.setter
    def max_condition(self, value: float | None) -> None:
        value = optional_real(value, "max_condition", finite=False)
        if value is not None and not value > 1:
            raise ValueError(f"max_condition must be > 1 (or None), got {value}")
        self._max_condition = value
        self._field = None

    def config(self) -> dict[str, Any]:
        """Constructor arguments (without ``module``)."""
        return {
            **self._network_config(),
            "structured": self.structured,
            "periodic": self.periodic,
            "mass": self.mass_kind,
            "eps": self.eps,
            "regularization": self.regularization,
            "max_condition": self.max_condition,
        }

    def __repr__(self) -> str:
        if self.structured:
            A = repr(self.mass_net) if self.mass_kind == "state" else "constant"
            body = f"A={A}, V={self.potential_net!r}, eps={self.eps:g}"
        else:
            body = f"L={self.net!r}"
        reg = f", regularization={self.regularization:g}" if self.regularization else ""
        reg += ", periodic=True" if self.periodic else ""
        return f"LNN(config_shape={self.config_shape}, {body}{reg})"

    # --------------------------------------------------------------- physics
    def _embed(self, q: Tensor) -> Tensor:
        """``q`` flattened, as ``(cos q, sin q)`` when periodic: (B, n) or (B, 2 n)."""
        qf = q.flatten(1)
        return torch.cat([torch.cos(qf), torch.sin(qf)], -1) if self.periodic else qf

    def _mass(self, qf: Tensor) -> Tensor:
        n = self.n
        eye = torch.eye(n, dtype=qf.dtype, device=qf.device)
        if self.mass_kind == "constant":
            A = self.mass_factor.to(qf.dtype)
            return (A @ A.T + self.eps * eye).expand(qf.shape[0], n, n)
        A = eye + self.mass_net(qf).reshape(-1, n, n)
        return A @ A.transpose(-1, -2) + self.eps * eye

    def _lagrangian(self, q: Tensor, qdot: Tensor) -> Tensor:
        if self.structured:
            qf, vf = self._embed(q), qdot.flatten(1)
            M = self._mass(qf)
            T = 0.5 * torch.einsum("bi,bij,bj->b", vf, M, vf)
            return T - self.potential_net(qf).squeeze(-1)
        if self.custom:
            out = self.net(q, qdot)
            return scalar_output(out, q, "L")
        return self.net(torch.cat([self._embed(q), qdot.flatten(1)], -1)).squeeze(-1)

    def lagrangian(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``L(q, qdot)``.

        Parameters
        ----------
        q, qdot : Tensor, shape (B, *S)
            In the model's dtype (a TypeError says how to cast otherwise).
        t : ignored (the learned Lagrangian is time independent)

        Returns
        -------
        Tensor, shape (B,)
        """
        self._check_dtype(("q", q), ("qdot", qdot))
        return self._lagrangian(q, qdot)

    def potential(self, q: Tensor) -> Tensor:
        """``V(q)`` of the structured form, shape (B,) for ``q`` of shape (B, *S)."""
        if not self.structured:
            raise AttributeError("potential() needs structured=True")
        self._check_dtype(("q", q))
        return self.potential_net(self._embed(q)).squeeze(-1)

    def mass_matrix(self, q: Tensor, qdot: Tensor | None = None) -> Tensor:
        """``M = d2L/dqdot2``, shape (B, n, n), ``n = prod(S)``.

        Structured: ``A(q) A(q)^T + eps I`` (``qdot`` not needed). Unstructured:
        the Hessian of the network at ``(q, qdot)`` (``qdot`` required).
        """
        self._check_dtype(("q", q), ("qdot", qdot))
        if self.structured:
            return self._mass(self._embed(q))
        if qdot is None:
            raise ValueError("the mass matrix of an unstructured LNN depends on qdot: pass it")
        # cached like the field (keyed by id), so the autodiff probe runs once per model
        if getattr(self, "_mass_fn", None) is None or self._mass_fn[0] != id(self):
            from symnet.mechanics import mass_matrix

            self._mass_fn = (id(self), mass_matrix(self._lagrangian))
        return self._mass_fn[1](q, qdot)

    @property
    def field(self) -> Any:
        """The acceleration field (:func:`symnet.mechanics.lagrangian_vector_field`)."""
        # keyed by id: a deep copy (e.g. the float64 copy of a checker) builds its own
        if self._field is None or self._field[0] != id(self):
            from symnet.mechanics import lagrangian_vector_field

            self._field = (
                id(self),
                lagrangian_vector_field(
                    self._lagrangian,
                    regularization=self.regularization,
                    max_condition=self.max_condition,
                ),
            )
        return self._field[1]

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """Euler-Lagrange acceleration ``qddot``.

        Parameters
        ----------
        q, qdot : Tensor, shape (B, *S)
            In the model's dtype (a TypeError says how to cast otherwise).
        t : ignored

        Returns
        -------
        Tensor, shape (B, *S)

        Raises
        ------
        SingularMassMatrixError
            The learned mass matrix is singular or too ill-conditioned at a
            state (unstructured form without ``regularization``).
        """
        self._check(q, qdot)
        return self.field(q, qdot)

    def forward(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """:meth:`acceleration`: shape (B, *S)."""
        return self.acceleration(q, qdot, t)

    def as_lagrangian(self) -> LagrangianView:
        """``L`` as a module sharing this model's parameters (for the float64 checkers)."""
        return LagrangianView(self)
