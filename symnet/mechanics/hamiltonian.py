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
from symnet.mechanics._guard import AutodiffProbe, evaluation_error
from symnet.mechanics.field import HamiltonianField

__all__ = ["hamiltonian_vector_field"]

_HINT = (
    "H must be built from differentiable torch operations on q and p "
    "(no .detach(), .item(), float(), integer casts, numpy or Python control flow on "
    "tensor values)"
)


class _HamiltonEquations:
    """Batched ``(q, p, t) -> (dH/dp, -dH/dq)``; probes ``H`` once (first allowed call)."""

    def __init__(self, H: Callable, check_gradients: bool = True) -> None:
        self.H = H
        self.probe = AutodiffProbe(H, "H", ("q", "p"), check_gradients)
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
            if out.dtype != q.dtype:
                raise TypeError(
                    f"H must return a Tensor of dtype {q.dtype} (the dtype of q and p); it "
                    f"returned {out.dtype}: compute it in the dtype of the states "
                    "(derivatives of a lower precision value are silently less accurate)"
                )
            return out.sum()

        self._grad = grad(total, argnums=(0, 1))

    def __call__(self, q: Tensor, p: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        try:
            dq, dp = self._grad(q, p, t)
        except RuntimeError as err:
            better = evaluation_error(err, self.H, q.dtype, "H")
            if better is not err:
                raise better from err
            raise RuntimeError(f"differentiating H with torch.func failed: {err}. {_HINT}") from err
        self.probe(q, p, t)
        return dp, -dq

    def __repr__(self) -> str:
        return f"HamiltonEquations(H={getattr(self.H, '__name__', type(self.H).__name__)})"


def hamiltonian_vector_field(
    H: Callable, *, separable: bool | None = None, check_gradients: bool = True
) -> HamiltonianField:
    """Hamilton's equations ``(q, p, t) -> (qdot, pdot) = (dH/dp, -dH/dq)``.

    Parameters
    ----------
    H : callable
        ``H(q, p)`` or ``H(q, p, t)`` with ``q, p`` of shape (B, *S) and ``t``
        of shape (B,), returning shape (B,) in the dtype of the states. An
        ``nn.Module`` works.
    separable : bool or None
        Declare ``H = T(p) + V(q)`` (True) or not (False) for the splitting
        methods; ``None`` (default) lets a rollout measure it.
    check_gradients : bool, default True
        On the field's first call (outside a ``torch.func`` transform),
        compare the autodiff derivatives of ``H`` with finite differences of
        its values at up to three states (once per field); see
        :func:`~symnet.mechanics.lagrangian_vector_field`.

    Returns
    -------
    HamiltonianField
        Callable as ``f(q, p, t=0.0) -> (qdot, pdot)``, each of shape (B, *S).

    Raises
    ------
    GradientMismatchError
        (from the field, a ValueError) the autodiff gradient of ``H`` misses
        part of its values' dependence on ``q`` or ``p``.
    ValueError, TypeError
        (from the field) ``H`` does not return shape (B,) in the states'
        dtype, holds parameters of another dtype, or writes into its arguments.

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
    field = HamiltonianField(
        _HamiltonEquations(H, bool(check_gradients)),
        source=H,
        separable=separable,
        uses_time=accepts_time(H, 2),
    )
    field.label = "H"
    return field
