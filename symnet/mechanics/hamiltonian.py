"""Hamilton's equations of any differentiable Hamiltonian, batched with torch.func.

``qdot = dH/dp``, ``pdot = -dH/dq``: one ``torch.func.grad`` of ``H`` summed
over the batch gives both gradients for every sample in a single reverse pass.
This relies on each sample's ``H`` depending on that sample only (no
batch-mixing layers such as train-mode BatchNorm), the same assumption a vmap
makes; it measured about 1.3x faster than ``vmap(grad(H))`` for a 4-128-128-1
MLP at batch 256. Being a torch.func transform, the field is differentiable
(parameters of ``H`` receive gradients), composes with further transforms, and
its output requires grad only when an input or a parameter does.

References
----------
E. Hairer, C. Lubich, G. Wanner, *Geometric Numerical Integration*, 2nd ed.,
Springer (2006), ch. VI.
S. Greydanus, M. Dzamba, J. Yosinski, "Hamiltonian Neural Networks",
NeurIPS (2019), arXiv:1906.01563.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor
from torch.func import grad

from symnet._util import accepts_time, format_shape, with_time
from symnet.mechanics.field import HamiltonianField

__all__ = ["hamiltonian_vector_field"]


class _HamiltonEquations:
    """Batched ``(q, p, t) -> (dH/dp, -dH/dq)``."""

    def __init__(self, H: Callable) -> None:
        self.H = H
        fn = with_time(H, 2)

        def total(q: Tensor, p: Tensor, t: Tensor) -> Tensor:
            out = fn(q, p, t)
            if not isinstance(out, Tensor):
                raise TypeError(f"H must return a Tensor of shape (B,), got {type(out).__name__}")
            if out.shape != q.shape[:1]:
                raise ValueError(
                    f"H must return one scalar per state, shape ({q.shape[0]},) = (B,); "
                    f"it returned shape {format_shape(out.shape)}"
                )
            return out.sum()

        self._grad = grad(total, argnums=(0, 1))

    def __call__(self, q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        dq, dp = self._grad(q, p, t)
        return dp, -dq

    def __repr__(self) -> str:
        return f"HamiltonEquations(H={getattr(self.H, '__name__', type(self.H).__name__)})"


def hamiltonian_vector_field(H: Callable, *, separable: bool | None = None) -> HamiltonianField:
    """Hamilton's equations ``(q, p, t) -> (qdot, pdot) = (dH/dp, -dH/dq)``.

    Parameters
    ----------
    H : callable
        ``H(q, p)`` or ``H(q, p, t)`` with ``q, p`` of shape (B, *S) and ``t``
        of shape (B,), returning shape (B,). An ``nn.Module`` works.
    separable : bool or None
        Declare ``H = T(p) + V(q)`` (True) or not (False) for the splitting
        methods; ``None`` (default) lets a rollout measure it.

    Returns
    -------
    HamiltonianField
        Callable as ``f(q, p, t=0.0) -> (qdot, pdot)``, each of shape (B, *S).

    Examples
    --------
    >>> import torch
    >>> H = lambda q, p: 0.5 * (p**2).sum(-1) + 0.5 * (q**2).sum(-1)
    >>> qdot, pdot = hamiltonian_vector_field(H)(torch.ones(2, 1), 2 * torch.ones(2, 1))
    >>> qdot[:, 0], pdot[:, 0]
    (tensor([2., 2.]), tensor([-1., -1.]))
    """
    if not callable(H):
        raise TypeError(f"H must be callable, got {type(H).__name__}")
    return HamiltonianField(
        _HamiltonEquations(H), source=H, separable=separable, uses_time=accepts_time(H, 2)
    )
