"""Hamiltonian neural networks: a learned ``H(q, p)`` and its symplectic vector field.

:class:`HNN` (Greydanus et al. 2019) learns a scalar ``H``; its dynamics are
Hamilton's equations ``qdot = dH/dp``, ``pdot = -dH/dq``
(:func:`symnet.mechanics.hamiltonian_vector_field`), a divergence-free,
symplectic field whatever the weights: the learned ``H`` is conserved along
the model's own flow (exactly, up to the integrator, with a symplectic method).

With ``separable=True``, ``H = T(p) + V(q)`` with two networks, so that the
explicit splitting integrators ("leapfrog", "yoshida4") apply.

References
----------
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from symnet.models._options import flag
from symnet.models.model import PhysicsModel, flat_cat, scalar_output

__all__ = ["HNN", "HamiltonianView"]


class HamiltonianView(nn.Module):
    """The Hamiltonian of a model as a module ``H(q, p) -> (B,)`` sharing its parameters.

    What :func:`symnet.noether.check_hamiltonian` and
    :func:`symnet.testing.assert_invariant` take (they cast a float64 copy).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, q: Tensor, p: Tensor) -> Tensor:
        """``H(q, p)``, shape (B,) for ``q, p`` of shape (B, *S)."""
        return self.model.hamiltonian(q, p)

    def __repr__(self) -> str:
        return f"HamiltonianView({self.model!r})"


class _HamiltonianMixin(PhysicsModel):
    """Shared parts of the models with a learned ``H``: field, time derivative, view."""

    form = "hamiltonian"
    default_target = "time_derivative"
    separable: bool | None = None
    _field: Any = None

    def _hamiltonian(self, q: Tensor, p: Tensor) -> Tensor:
        raise NotImplementedError

    def hamiltonian(self, q: Tensor, p: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``H(q, p)``.

        Parameters
        ----------
        q, p : Tensor, shape (B, *S)
            In the model's dtype (a TypeError says how to cast otherwise).
        t : ignored (the learned Hamiltonian is time independent)

        Returns
        -------
        Tensor, shape (B,)
        """
        self._check_dtype(("q", q), ("p", p))
        return self._hamiltonian(q, p)

    def _conservative(self) -> Any:
        """Hamilton's equations of the learned ``H`` (cached per object)."""
        if self._field is None or self._field[0] != id(self):
            from symnet.mechanics import hamiltonian_vector_field

            field = hamiltonian_vector_field(self._hamiltonian, separable=self.separable)
            self._field = id(self), field
        return self._field[1]

    def as_hamiltonian(self) -> HamiltonianView:
        """``H`` as a module sharing this model's parameters (for the float64 checkers)."""
        return HamiltonianView(self)


class HNN(_HamiltonianMixin):
    """A learned Hamiltonian and its symplectic vector field.

    Parameters
    ----------
    module : nn.Module, optional
        Any module mapping ``(q, p)``, each of shape (B, *S), to ``H`` of
        shape (B,). Default: an :class:`~symnet.models.MLP` on the flattened
        ``(q, p)``, or ``T(p) + V(q)`` with ``separable=True``.
    config_shape : tuple of int
        ``S``, the shape of one configuration.
    hidden, layers, activation
        Width, number of hidden layers, activation of the MLP(s); the
        defaults are the recipe of Greydanus et al. (200 units, tanh).
    separable : bool
        ``H = T(p) + V(q)`` (two MLPs); lets leapfrog integrate the model.

    Examples
    --------
    >>> import torch
    >>> model = HNN(config_shape=(1,), hidden=16)
    >>> qdot, pdot = model.time_derivative(torch.randn(4, 1), torch.randn(4, 1))
    >>> qdot.shape, pdot.shape
    (torch.Size([4, 1]), torch.Size([4, 1]))
    """

    def __init__(
        self,
        module: nn.Module | None = None,
        *,
        config_shape: tuple[int, ...],
        hidden: int = 200,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "tanh",
        separable: bool = False,
    ) -> None:
        super().__init__()
        self._init_network_options(config_shape, hidden, layers, activation)
        separable = flag(separable, "separable")
        self.custom = module is not None
        self.separable = separable if module is None else None
        n = self.n
        if module is not None:
            if separable:
                raise TypeError("separable=True builds its own T(p) and V(q); pass module=None")
            self.net: nn.Module = self._module(module)
        elif separable:
            self.kinetic_net = self._mlp(n, 1)
            self.potential_net = self._mlp(n, 1)
        else:
            self.net = self._mlp(2 * n, 1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (without ``module``)."""
        return {
            **self._network_config(),
            "separable": bool(self.separable),
        }

    def __repr__(self) -> str:
        if self.separable:
            body = f"T={self.kinetic_net!r}, V={self.potential_net!r}"
        else:
            body = f"H={self.net!r}"
        return f"HNN(config_shape={self.config_shape}, {body})"

    def _hamiltonian(self, q: Tensor, p: Tensor) -> Tensor:
        if self.custom:
            out = self.net(q, p)
            return scalar_output(out, q, "H")
        if self.separable:
            T = self.kinetic_net(p.flatten(1))
            return (T + self.potential_net(q.flatten(1))).squeeze(-1)
        return self.net(flat_cat(q, p)).squeeze(-1)

    @property
    def field(self) -> Any:
        """Hamilton's equations of ``H`` (:func:`symnet.mechanics.hamiltonian_vector_field`)."""
        return self._conservative()

    def time_derivative(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot) = (dH/dp, -dH/dq)``.

        Parameters
        ----------
        q, p : Tensor, shape (B, *S)
            In the model's dtype (a TypeError says how to cast otherwise).
        t : ignored

        Returns
        -------
        qdot, pdot : Tensor, shape (B, *S)
        """
        self._check(q, p, ("q", "p"))
        return self.field(q, p)

    def forward(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`time_derivative`."""
        return self.time_derivative(q, p, t)
