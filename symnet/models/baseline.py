"""The naive baseline: an MLP that predicts the dynamics directly.

:class:`Baseline` maps ``(q, qdot)`` to the acceleration, or ``(q, p)`` to
the time derivatives ``(qdot, pdot)``, with no physical structure: no
conserved energy, no symplectic flow. It is the control against which the
HNN (Greydanus et al. 2019) and LNN (Cranmer et al. 2020) papers measure
their gains.

References
----------
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
M. Cranmer, S. Greydanus, S. Hoyer, P. Battaglia, D. Spergel, S. Ho,
"Lagrangian Neural Networks", ICLR workshop (2020), arXiv:2003.04630.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from symnet._util import format_shape
from symnet.models._options import choice, flag
from symnet.models.model import PhysicsModel, flat_cat

__all__ = ["Baseline"]

_OUTPUTS = ("acceleration", "time_derivative")


class Baseline(PhysicsModel):
    """An unconstrained MLP from the state to its rate of change.

    Parameters
    ----------
    module : nn.Module, optional
        A module mapping the flattened state, shape (B, 2 n), to shape
        (B, n) (accelerations) or (B, 2 n) (time derivatives); default an
        :class:`~symnet.models.MLP`.
    config_shape : tuple of int
        ``S``, the shape of one configuration.
    hidden, layers, activation
        The default MLP.
    periodic : bool
        All coordinates are angles: ``q`` enters the MLP as ``(cos q, sin q)``.
    output : {"acceleration", "time_derivative"}
        ``(q, qdot) -> qddot`` (compare with an LNN) or ``(q, p) -> (qdot,
        pdot)`` (compare with an HNN).

    Examples
    --------
    >>> import torch
    >>> Baseline(config_shape=(2,), hidden=8)(torch.randn(3, 2), torch.randn(3, 2)).shape
    torch.Size([3, 2])
    """

    def __init__(
        self,
        module: nn.Module | None = None,
        *,
        config_shape: tuple[int, ...],
        hidden: int = 200,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "tanh",
        output: str = "acceleration",
        periodic: bool = False,
    ) -> None:
        super().__init__()
        output = choice(output, "output", _OUTPUTS)
        self._init_network_options(config_shape, hidden, layers, activation)
        self.output = output
        self.form = "lagrangian" if output == "acceleration" else "hamiltonian"
        self.default_target = output
        self.custom = module is not None
        self.periodic = flag(periodic, "periodic")
        if self.periodic and module is not None:
            raise TypeError("periodic=True applies to the default MLP; pass module=None")
        n = self.n
        out = n if output == "acceleration" else 2 * n
        width = 3 * n if self.periodic else 2 * n
        self.net: nn.Module = self._mlp(width, out) if module is None else self._module(module)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (without ``module``)."""
        return {
            **self._network_config(),
            "output": self.output,
            "periodic": self.periodic,
        }

    def __repr__(self) -> str:
        return (
            f"Baseline(config_shape={self.config_shape}, net={self.net!r}, output={self.output!r})"
        )

    def _input(self, q: Tensor, v: Tensor) -> Tensor:
        if not self.periodic or self.custom:
            return flat_cat(q, v)
        qf = q.flatten(1)
        return torch.cat([torch.cos(qf), torch.sin(qf), v.flatten(1)], -1)

    def _net(self, q: Tensor, v: Tensor, width: int) -> Tensor:
        """The network's output, checked to be a tensor of shape (B, width)."""
        out = self.net(self._input(q, v))
        expected = (q.shape[0], width)
        if not isinstance(out, Tensor) or tuple(out.shape) != expected:
            got = format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__
            what = "n = prod(S)" if self.output == "acceleration" else "2 n, n = prod(S)"
            raise ValueError(
                f"Baseline: the module must return shape (B, {width}) ({what}) for the "
                f"flattened state of shape {format_shape((q.shape[0], 2 * self.n))}, got {got}"
            )
        return out

    def _acceleration(self, q: Tensor, qdot: Tensor) -> Tensor:
        return self._net(q, qdot, self.n).reshape(q.shape)

    def _derivative(self, q: Tensor, p: Tensor) -> tuple[Tensor, Tensor]:
        n = self.n
        out = self._net(q, p, 2 * n)
        return out[:, :n].reshape(q.shape), out[:, n:].reshape(q.shape)

    def acceleration(self, q: Tensor, qdot: Tensor, t: Tensor | float | None = None) -> Tensor:
        """``qddot``, shape (B, *S), for ``q, qdot`` of shape (B, *S) (acceleration output)."""
        if self.output != "acceleration":
            raise AttributeError("this Baseline predicts time derivatives: use time_derivative()")
        self._check(q, qdot)
        return self._acceleration(q, qdot)

    def time_derivative(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot)``, each of shape (B, *S) (``output="time_derivative"``)."""
        if self.output != "time_derivative":
            raise AttributeError("this Baseline predicts accelerations: use acceleration()")
        self._check(q, p, ("q", "p"))
        return self._derivative(q, p)

    def forward(self, q: Tensor, v: Tensor, t: Tensor | float | None = None) -> Any:
        """:meth:`acceleration` or :meth:`time_derivative`, by ``output``."""
        if self.output == "acceleration":
            return self.acceleration(q, v, t)
        return self.time_derivative(q, v, t)

    @property
    def field(self) -> Any:
        """A second-order field (accelerations) or a first-order one on ``(q, p)``."""
        from symnet.mechanics import HamiltonianField, SecondOrderField

        if self.output == "acceleration":
            return SecondOrderField(self._acceleration, velocity_dependent=True)
        return HamiltonianField(self._derivative, separable=False)
