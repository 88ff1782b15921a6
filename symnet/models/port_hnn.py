"""Port-Hamiltonian neural networks: a learned ``H`` plus learned dissipation and forcing.

:class:`PortHNN` (Desai et al. 2021) models an open system in port-Hamiltonian
form::

    qdot = dH/dp
    pdot = -dH/dq - R(q) dH/dp + F(t)

with three learned parts:

- ``H(q, p)``: an MLP (or any module), as in :class:`~symnet.models.HNN`;
- ``R = B B^T``: a dissipation matrix, positive semi-definite by
  construction, either constant (``dissipation="constant"``, ``B`` a free
  ``n x n`` matrix) or state dependent (``"state"``, ``B(q)`` an MLP);
  along the model's flow without forcing ``dH/dt = -dH/dp^T R dH/dp <= 0``;
- ``F(t)``: an external force on the momenta, a small MLP of ``t``
  (``forcing="mlp"``) or a Fourier series with learned frequencies
  (``forcing="fourier"``).

For a damped oscillator ``m qddot = -k q - gamma m qdot`` with ``p = m qdot``
the true ``R`` is ``gamma m``; for a driven one, ``F(t) = F0 cos(Omega t)``.

References
----------
S. A. Desai, M. Mattheakis, D. Sondak, P. Protopapas, S. J. Roberts,
"Port-Hamiltonian neural networks for learning explicitly time-dependent
dynamical systems", Phys. Rev. E 104, 034312 (2021), arXiv:2107.08024.
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from symnet.models._options import choice, integer, real
from symnet.models.hnn import _HamiltonianMixin
from symnet.models.mlp import MLP
from symnet.models.model import flat_cat, scalar_output, time_column

__all__ = ["PortHNN"]

_DISSIPATIONS = ("constant", "state", None)
_FORCINGS = ("mlp", "fourier", None)


class PortHNN(_HamiltonianMixin):
    """A learned port-Hamiltonian system: ``H``, dissipation ``R`` and forcing ``F(t)``.

    Parameters
    ----------
    module : nn.Module, optional
        ``H(q, p) -> (B,)``; default an MLP on the flattened ``(q, p)``.
    config_shape : tuple of int
        ``S``, the shape of one configuration.
    hidden, layers, activation
        The MLP of ``H`` (defaults as :class:`~symnet.models.HNN`).
    dissipation : {"constant", "state", None}
        ``R = B B^T`` with a constant ``B`` (initialised to ``0.1 I``), with
        ``B(q)`` an MLP, or no dissipation.
    forcing : {"fourier", "mlp", None}
        ``F(t) = sum_k a_k cos(w_k t) + b_k sin(w_k t)`` (amplitudes start at
        0, frequencies ``w_k`` learned, initialised evenly on
        ``(0, max_frequency]``), a tanh MLP of ``t``, or no forcing.
    frequencies : int
        ``K``, terms of the Fourier forcing.
    max_frequency : float
        Largest initial angular frequency of the Fourier forcing.
    aux_hidden : int
        Width of the MLPs of ``B(q)`` and of the MLP forcing.

    Examples
    --------
    >>> import torch
    >>> model = PortHNN(config_shape=(1,), hidden=16)
    >>> q, p, t = torch.randn(4, 1), torch.randn(4, 1), torch.rand(4)
    >>> [x.shape for x in model.time_derivative(q, p, t)]
    [torch.Size([4, 1]), torch.Size([4, 1])]
    >>> model.dissipation(q).shape, model.forcing(t).shape
    (torch.Size([4, 1, 1]), torch.Size([4, 1]))
    """

    def __init__(
        self,
        module: nn.Module | None = None,
        *,
        config_shape: tuple[int, ...],
        hidden: int = 200,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "tanh",
        dissipation: str | None = "constant",
        forcing: str | None = "fourier",
        frequencies: int = 16,
        max_frequency: float = 4.0,
        aux_hidden: int = 32,
    ) -> None:
        super().__init__()
        dissipation = choice(dissipation, "dissipation", _DISSIPATIONS)
        forcing = choice(forcing, "forcing", _FORCINGS)
        self._init_network_options(config_shape, hidden, layers, activation)
        self.dissipation_kind, self.forcing_kind = dissipation, forcing
        self.frequencies = integer(frequencies, "frequencies", minimum=1)
        self.max_frequency = real(max_frequency, "max_frequency", positive=True)
        self.aux_hidden = integer(aux_hidden, "aux_hidden", minimum=1)
        frequencies, max_frequency, aux_hidden = (
            self.frequencies,
            self.max_frequency,
            self.aux_hidden,
        )
        self.custom = module is not None
        n = self.n
        self.net: nn.Module = self._mlp(2 * n, 1) if module is None else self._module(module)
        if dissipation == "constant":
            self.damping = nn.Parameter(0.1 * torch.eye(n))
        elif dissipation == "state":
            self.damping_net = MLP(n, n * n, aux_hidden, 2, "tanh")
        if forcing == "mlp":
            self.forcing_net = MLP(1, n, aux_hidden, 2, "tanh")
        elif forcing == "fourier":
            w = torch.linspace(max_frequency / frequencies, max_frequency, frequencies)
            self.omega = nn.Parameter(w)
            self.cos_amp = nn.Parameter(torch.zeros(n, frequencies))
            self.sin_amp = nn.Parameter(torch.zeros(n, frequencies))

    def config(self) -> dict[str, Any]:
        """Constructor arguments (without ``module``)."""
        return {
            **self._network_config(),
            "dissipation": self.dissipation_kind,
            "forcing": self.forcing_kind,
            "frequencies": self.frequencies,
            "max_frequency": self.max_frequency,
            "aux_hidden": self.aux_hidden,
        }

    def __repr__(self) -> str:
        return (
            f"PortHNN(config_shape={self.config_shape}, H={self.net!r}, "
            f"dissipation={self.dissipation_kind!r}, forcing={self.forcing_kind!r})"
        )

    # ------------------------------------------------------------------ parts
    def _hamiltonian(self, q: Tensor, p: Tensor) -> Tensor:
        if self.custom:
            out = self.net(q, p)
            return scalar_output(out, q, "H")
        return self.net(flat_cat(q, p)).squeeze(-1)

    def dissipation(self, q: Tensor) -> Tensor:
        """``R(q) = B B^T``, positive semi-definite, shape (B, n, n) for ``q`` of shape (B, *S).

        Zeros without dissipation.
        """
        self._check_dtype(("q", q))
        n, batch = self.n, q.shape[0]
        if self.dissipation_kind is None:
            return q.new_zeros(batch, n, n)
        if self.dissipation_kind == "constant":
            Bm = self.damping.to(q.dtype)
            return (Bm @ Bm.T).expand(batch, n, n)
        Bq = self.damping_net(q.flatten(1)).reshape(batch, n, n)
        return Bq @ Bq.transpose(-1, -2)

    def forcing(self, t: Tensor | float) -> Tensor:
        """The learned force ``F(t)`` on the momenta.

        Parameters
        ----------
        t : float, Tensor of shape () or (B,)

        Returns
        -------
        Tensor, shape (B, *S) (``B = 1`` for a scalar ``t``); zeros without forcing.
        """
        param = next(self.parameters())
        if isinstance(t, Tensor) and t.dim() > 1:
            raise ValueError(
                f"t must be a float or a tensor of shape () or (B,), got {tuple(t.shape)}"
            )
        tt = torch.as_tensor(t, dtype=param.dtype, device=param.device).reshape(-1)
        batch = tt.shape[0]
        if self.forcing_kind is None:
            return tt.new_zeros(batch, *self.config_shape)
        if self.forcing_kind == "mlp":
            out = self.forcing_net(tt[:, None])
        else:
            phase = tt[:, None] * self.omega  # (B, K)
            out = torch.cos(phase) @ self.cos_amp.T + torch.sin(phase) @ self.sin_amp.T
        return out.reshape(batch, *self.config_shape)

    # --------------------------------------------------------------- dynamics
    def _derivative(self, q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        qdot, pdot = self._conservative()(q, p)
        if self.dissipation_kind is not None:
            R = self.dissipation(q)
            pdot = pdot - torch.einsum("bij,bj->bi", R, qdot.flatten(1)).reshape(q.shape)
        if self.forcing_kind is not None:
            pdot = pdot + self.forcing(t).to(q.dtype)
        return qdot, pdot

    @property
    def field(self) -> Any:
        """The port-Hamiltonian dynamics as a first-order field ``(q, p, t) -> (qdot, pdot)``."""
        from symnet.mechanics import HamiltonianField

        return HamiltonianField(
            self._derivative,
            source=self._hamiltonian,
            separable=False,
            uses_time=self.forcing_kind is not None,
        )

    def time_derivative(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(qdot, pdot)`` of the port-Hamiltonian equations.

        Parameters
        ----------
        q, p : Tensor, shape (B, *S)
        t : float or Tensor of shape () or (B,), optional (``None``: 0)

        Returns
        -------
        qdot, pdot : Tensor, shape (B, *S)
        """
        self._check(q, p, ("q", "p"))
        return self._derivative(q, p, time_column(t, q))

    def forward(
        self, q: Tensor, p: Tensor, t: Tensor | float | None = None
    ) -> tuple[Tensor, Tensor]:
        """:meth:`time_derivative`."""
        return self.time_derivative(q, p, t)

    def damping_rate(self) -> float:
        """``trace(R) / n`` of a constant dissipation (the learned ``m gamma`` in 1-D)."""
        if self.dissipation_kind != "constant":
            raise AttributeError("damping_rate() needs dissipation='constant'")
        with torch.no_grad():
            return float((self.damping @ self.damping.T).trace()) / self.n
