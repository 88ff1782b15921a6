"""Derivatives of a Lagrangian per sample with ``torch.func``, vmapped over the batch.

Private module: the path of the Lagrangian field inside ``torch.func``
transforms, in its traceable form (``torch.compile``) and as the reference
that the batched autograd path (:mod:`symnet.mechanics._derivatives`) is
checked against once per field. ``L`` is called on batches of one.

Per sample, one reverse pass gives ``(dL/dq, p = dL/dqdot, dL/dt)``. Then:

- dense ``M``: a second reverse pass through ``p`` (``vjp``), vmapped over
  the ``n`` unit cotangents, gives every row of ``dp/dq``, ``dp/dqdot = M``
  and ``dp/dt``, hence ``M`` and the mixed term;
- block or diagonal ``M`` (:mod:`symnet.mechanics._structure`): the pull-back
  with respect to ``qdot`` of ``(p, dL/dq, dL/dt)``, vmapped over ``d + 1``
  cotangents: the ``d`` combs on ``p`` give the blocks, ``(0, qdot, 1)`` gives
  the mixed term (symmetry of second derivatives).

Every step is a transform, so the result is differentiable and composes with
further transforms.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.func import grad, vjp, vmap

from symnet._util import format_shape, with_time
from symnet.mechanics._structure import MassLayout, Parts

__all__ = ["Scalar", "lagrangian_parts_fn", "momentum_fn"]


class Scalar:
    """Per-sample view of a batched Lagrangian: ``(q (S), qdot (S), t ()) -> ()``."""

    def __init__(self, fn: Callable, name: str) -> None:
        self.fn = with_time(fn, 2)
        self.name = name

    def __call__(self, q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
        out = self.fn(q.unsqueeze(0), qdot.unsqueeze(0), t.unsqueeze(0))
        if not isinstance(out, Tensor):
            raise TypeError(
                f"{self.name} must return a Tensor of shape (B,), got {type(out).__name__}"
            )
        if out.shape != (1,):
            got = "a 0-d tensor" if out.dim() == 0 else "shape (B" + format_shape(out.shape)[2:]
            raise ValueError(
                f"{self.name} must return one scalar per state, shape (B,); it returned {got}"
            )
        if out.dtype != q.dtype:
            raise TypeError(
                f"{self.name} must return a Tensor of dtype {q.dtype} (the dtype of q and "
                f"qdot); it returned {out.dtype}: compute it in the dtype of the states "
                "(derivatives of a lower precision value are silently less accurate)"
            )
        return out[0]


def lagrangian_parts_fn(scalar: Scalar, name: str) -> Callable[[Tensor, Tensor, Tensor], Parts]:
    """Batched ``(q, qdot, t) -> Parts`` for a mass structure ``name`` (see module doc)."""

    def first(q: Tensor, qdot: Tensor, t: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return grad(scalar, argnums=(0, 1, 2))(q, qdot, t)

    def dense(q: Tensor, qdot: Tensor, t: Tensor) -> tuple[Tensor, ...]:
        n = q.numel()

        def p_of(a: Tensor, b: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
            dq, p = grad(scalar, argnums=(0, 1))(a, b, c)
            return p, dq

        p, pull_back, dq = vjp(p_of, q, qdot, t, has_aux=True)
        eye = torch.eye(n, dtype=q.dtype, device=q.device).reshape(n, *q.shape)
        dp_dq, dp_dqdot, dp_dt = vmap(pull_back)(eye)
        mixed = dp_dq.reshape(n, n) @ qdot.reshape(n) + dp_dt
        return dp_dqdot.reshape(1, n, n), dq.reshape(n), mixed, p.reshape(n)

    def structured(q: Tensor, qdot: Tensor, t: Tensor) -> tuple[Tensor, ...]:
        layout = MassLayout(name, tuple(q.shape))
        d, n = layout.d, layout.n
        (dq, p, dt), pull_back = vjp(lambda b: first(q, b, t), qdot)
        zero = torch.zeros((1, *q.shape), dtype=q.dtype, device=q.device)
        cot_p = torch.cat([layout.combs(q.dtype, q.device), zero])
        cot_q = torch.cat([zero.expand(d, *q.shape), qdot[None]])
        cot_t = torch.cat([zero.new_zeros(d), torch.ones_like(dt)[None]])
        (G,) = vmap(pull_back)((cot_q, cot_p, cot_t))
        G = G.reshape(d + 1, n)
        blocks = G[:d].reshape(d, layout.P, d).transpose(0, 1)
        return blocks, dq.reshape(n), G[d], p.reshape(n)

    batched = vmap(dense if name == "dense" else structured)

    def parts(q: Tensor, qdot: Tensor, t: Tensor) -> Parts:
        return Parts(*batched(q, qdot, t))

    return parts


def momentum_fn(scalar: Scalar) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """Batched ``(q, qdot, t) -> p = dL/dqdot`` of shape (B, *S)."""
    return vmap(grad(scalar, argnums=1))
