"""Exact discrete recursions for the charges under PyTorch's SGD.

Private module. PyTorch's ``SGD`` step for one parameter (``sigma = -1`` with
``maximize``, else +1; ``g`` the gradient)::

    d     = sigma g + lambda theta                       (coupled weight decay)
    b_k   = d                     if there is no buffer yet (first step)
          = beta b_{k-1} + (1 - tau) d                   (momentum beta, dampening tau)
    u     = d + beta b_k  (Nesterov)  |  b_k  (heavy ball)  |  d  (beta = 0)
    theta' = theta - eta u

Every new vector is a combination of the basis ``(theta_k, b_{k-1}, g_k)``
with known coefficients. A symmetry makes the gradient orthogonal to its
generator: ``<1_A, g> = 0`` (translation) and ``<theta, S g> = 0`` (scale,
rescale; ``S`` is +1 on ``A`` or ``A1`` and -1 on ``A2``). So

- the **linear** charge ``s = <1_A, theta>`` and ``m = <1_A, b>`` evolve by a
  2x2 linear recursion that needs nothing recorded: without momentum
  ``s' = (1 - eta lambda) s``; with heavy ball ``s_{k+1} = (1 + beta -
  eta lambda (1 - tau)) s_k - beta s_{k-1}``, ``s_1 = (1 - eta lambda) s_0``;
- the **quadratic** charge ``Q = <theta, S theta>`` evolves with
  ``P = <theta_k, S b_{k-1}>`` and ``R = <b_{k-1}, S b_{k-1}>`` through the
  Gram matrix of the basis, ``[[Q, P, 0], [P, R, C], [0, C, G]]``, where the
  zero is the symmetry and only ``G = <g, S g>`` and ``C = <b_{k-1}, S g>``
  (gradient quantities) are recorded. Without momentum this is the textbook
  ``Q' = (1 - eta lambda)^2 Q + eta^2 <g, S g>``.

The predictions are open-loop: one pass from the initial charges, never a
re-reading of the parameters. See Kunin et al., "Neural Mechanics", ICLR 2021.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["ADAPTIVE", "Hyper", "optimizer_kind", "coefficients", "predict_linear", "predict_quad"]

ADAPTIVE = (
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "RAdam",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "SparseAdam",
)


def optimizer_kind(optimizer: Any) -> str:
    """``"sgd"`` (exact recursions), ``"adaptive"`` or ``"unsupported"`` (no prediction)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    sgd = torch.optim.SGD
    if isinstance(optimizer, sgd) and type(optimizer).step is sgd.step:
        return "sgd"
    adaptive = tuple(getattr(torch.optim, n) for n in ADAPTIVE if hasattr(torch.optim, n))
    return "adaptive" if isinstance(optimizer, adaptive) else "unsupported"


@dataclass(frozen=True)
class Hyper:
    """The SGD hyperparameters of one step for one parameter group."""

    lr: float
    weight_decay: float
    momentum: float
    dampening: float
    nesterov: bool
    maximize: bool

    @classmethod
    def from_group(cls, group: dict[str, Any]) -> Hyper:
        """Read from a ``torch.optim.SGD`` parameter group (tensors become floats)."""
        return cls(
            lr=float(group["lr"]),
            weight_decay=float(group.get("weight_decay", 0.0)),
            momentum=float(group.get("momentum", 0.0)),
            dampening=float(group.get("dampening", 0.0)),
            nesterov=bool(group.get("nesterov", False)),
            maximize=bool(group.get("maximize", False)),
        )

    def describe(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


def coefficients(h: Hyper, has_buffer: bool) -> tuple[Tensor, Tensor | None]:
    """``theta_{k+1}`` and ``b_k`` in the basis ``(theta_k, b_{k-1}, g_k)``.

    Returns
    -------
    theta, buffer : Tensor
        Shape ``(3,)`` each, float64; ``buffer`` is None when ``momentum == 0``
        (PyTorch then neither reads nor writes a buffer).
    """
    sigma = -1.0 if h.maximize else 1.0
    d = (h.weight_decay, 0.0, sigma)
    if h.momentum == 0.0:
        theta = [float(i == 0) - h.lr * di for i, di in enumerate(d)]
        return torch.tensor(theta, dtype=torch.float64), None
    if has_buffer:
        buf = [h.momentum * float(i == 1) + (1.0 - h.dampening) * di for i, di in enumerate(d)]
    else:
        buf = list(d)
    u = [di + h.momentum * bi for di, bi in zip(d, buf, strict=True)] if h.nesterov else buf
    theta = [float(i == 0) - h.lr * ui for i, ui in enumerate(u)]
    return torch.tensor(theta, dtype=torch.float64), torch.tensor(buf, dtype=torch.float64)


def _form(a: Tensor, M: Tensor, b: Tensor) -> Tensor:
    """``a^T M b`` for every unit: ``M`` of shape ``(n, 3, 3)`` -> ``(n,)``."""
    return (M @ b) @ a


def predict_linear(s0: Tensor, m0: Tensor, hypers: list[Hyper], buffers: list[bool]) -> Tensor:
    """Open-loop translation charges ``<1_A, theta_k>``.

    Parameters
    ----------
    s0, m0 : Tensor
        Shape ``(n,)``: the initial charges and ``<1_A, b>`` of the initial
        momentum buffer (zeros when there is none).
    hypers, buffers : list
        Per step: the hyperparameters, and whether a buffer existed before it.

    Returns
    -------
    Tensor
        Shape ``(steps + 1, n)``.
    """
    s, m = s0.double(), m0.double().to(s0.device)
    out = [s]
    for h, has in zip(hypers, buffers, strict=True):
        c_theta, c_buf = coefficients(h, has)  # Python numbers in 0-d CPU tensors: any device
        s_new = c_theta[0] * s + c_theta[1] * m
        if c_buf is not None:
            m = c_buf[0] * s + c_buf[1] * m
        s = s_new
        out.append(s)
    return torch.stack(out)


def predict_quad(
    q0: Tensor,
    p0: Tensor,
    r0: Tensor,
    hypers: list[Hyper],
    buffers: list[bool],
    grads: list[Tensor],
    cross: list[Tensor],
) -> Tensor:
    """Open-loop quadratic charges ``<theta_k, S theta_k>``.

    Parameters
    ----------
    q0, p0, r0 : Tensor
        Shape ``(n,)``: ``<theta, S theta>``, ``<theta, S b>`` and
        ``<b, S b>`` at the start (``b`` the momentum buffer, zeros if none).
    hypers, buffers : list
        Per step, as in :func:`predict_linear`.
    grads, cross : list of Tensor
        Per step, shape ``(n,)``: the recorded ``G = <g, S g>`` and
        ``C = <b_{k-1}, S g>``.

    Returns
    -------
    Tensor
        Shape ``(steps + 1, n)``.
    """
    Q, P, R = q0.double(), p0.double().to(q0.device), r0.double().to(q0.device)
    e_buf = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64, device=Q.device)
    out = [Q]
    for h, has, G, C in zip(hypers, buffers, grads, cross, strict=True):
        zero = torch.zeros_like(Q)
        M = torch.stack(
            [
                torch.stack([Q, P, zero], -1),
                torch.stack([P, R, C.to(Q)], -1),
                torch.stack([zero, C.to(Q), G.to(Q)], -1),
            ],
            -2,
        )
        c_theta, c_buf = coefficients(h, has)
        c_theta = c_theta.to(Q.device)
        # momentum 0: the buffer (if any) is left as it was
        c_buf = e_buf if c_buf is None else c_buf.to(Q.device)
        Q, P, R = _form(c_theta, M, c_theta), _form(c_theta, M, c_buf), _form(c_buf, M, c_buf)
        out.append(Q)
    return torch.stack(out)
