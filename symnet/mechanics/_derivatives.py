"""Derivatives of a batched Lagrangian or Hamiltonian with ``torch.autograd``.

Private module: the fast path of the fields for top-level calls (not inside a
``torch.func`` transform, see :func:`symnet.mechanics._guard.first_call_allowed`).
``L`` is evaluated once on the whole batch and differentiated with
``torch.autograd.grad`` of ``L.sum()``: since ``L[b]`` depends on state ``b``
only (verified once per field, :mod:`symnet.mechanics._batch_check`), the
gradient of the sum holds every sample's gradient. A second reverse pass with
a cotangent that is the same unit vector in every sample gives one row of
every sample's Hessian at once:

- ``"dense"`` mass matrix: ``n`` pull-backs of ``p = dL/dqdot`` with respect
  to ``(q, qdot, t)``; pull-back ``i`` is row ``i`` of ``dp/dq``, ``M`` and
  ``dp/dt``, which give ``M`` and the mixed term ``(d2L/dqdot dq) qdot +
  d_t dL/dqdot`` (the same arithmetic as the per-sample ``torch.func`` path,
  so the same values);
- block or diagonal ``M`` (:mod:`symnet.mechanics._structure`): ``d`` comb
  pull-backs of ``p`` with respect to ``qdot`` give the blocks, and ONE more
  pull-back, of ``(dL/dq, dL/dt)`` along ``(qdot, 1)`` with respect to
  ``qdot``, gives the mixed term whole (symmetry of second derivatives:
  ``d/dqdot (dL/dq . w) = (d2L/dqdot dq) w``), instead of ``n`` rows.

The ``k`` second-order pull-backs run in one of three ways, whichever is
fastest for the size (:func:`choose_strategy`, measured on one CPU thread):
a Python loop of ``k`` calls; one call vmapped over the cotangents
(``is_grads_batched``: far faster for large ``k``); or the batch replicated
``k`` times before ``L`` is evaluated, so that one ordinary reverse pass
carries every cotangent (fastest for small ``k * B``, where the call
overhead dominates).

Graphs: the result is differentiable exactly when the caller needs it, i.e.
grad mode is on and a state or a tensor that ``L`` uses (a parameter)
requires grad; otherwise no graph is kept past the call and the result is
detached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from symnet._util import format_shape
from symnet.mechanics._structure import MassLayout, Parts

__all__ = ["evaluate", "gradients", "lagrangian_parts", "choose_strategy", "STRATEGIES"]

STRATEGIES = ("loop", "batched", "replicate")

#: Replicate the batch for the second derivatives while ``k * B * n`` is at most this.
_REPLICATE_MAX = 256


def choose_strategy(k: int, batch: int, n: int) -> str:
    """How to run ``k`` second-order pull-backs on ``batch`` states of ``n`` coordinates.

    Measured (one thread, float32): replicating the batch wins while ``L`` on
    ``k`` times the batch is cheap (a 4-128-128-1 MLP, n = 2: 0.90 against
    1.00 ms at B = 8, even at B = 64, behind from B = 256: 3.2 against
    2.5 ms); the vmapped pull-back wins otherwise, and by far over a loop for
    large ``k`` (48 coordinates, B = 8: 1.3 against 10.7 ms).
    """
    if k * batch * n <= _REPLICATE_MAX:
        return "replicate"
    return "batched"


def evaluate(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, who: str, names: tuple[str, str], batch: int
) -> Tensor:
    """``fn(q, v, t)``, checked to be a Tensor of shape ``q.shape[:1]`` in the states' dtype.

    ``batch`` is the caller's batch size, for the messages.
    """
    out = fn(q, v, t)
    if not isinstance(out, Tensor):
        raise TypeError(f"{who} must return a Tensor of shape (B,), got {type(out).__name__}")
    if out.shape != q.shape[:1]:
        if out.dim() == 0:
            got = "a 0-d tensor"
        elif out.shape[0] == q.shape[0]:  # (B, 1) and the like: B of the caller
            got = "shape " + format_shape((batch, *out.shape[1:]))
            if who == "L":  # the message of the per-sample path
                got = "shape (B" + format_shape(out.shape)[len(str(out.shape[0])) + 1 :]
        else:
            got = f"shape {format_shape(out.shape)}"
        expected = "(B,)" if who == "L" else f"({batch},) = (B,)"
        raise ValueError(
            f"{who} must return one scalar per state, shape {expected}; it returned {got}"
        )
    if out.dtype != q.dtype:
        raise TypeError(
            f"{who} must return a Tensor of dtype {q.dtype} (the dtype of {names[0]} and "
            f"{names[1]}); it returned {out.dtype}: compute it in the dtype of the states "
            "(derivatives of a lower precision value are silently less accurate)"
        )
    return out


def _leaf(x: Tensor) -> Tensor:
    """``x`` itself when it is differentiable already, else a detached leaf that is."""
    return x if x.requires_grad else x.detach().requires_grad_()


def _reaches_other_leaf(out: Tensor, own: Sequence[Tensor]) -> bool:
    """Whether ``out``'s graph reaches a leaf requiring grad other than ``own`` (a parameter)."""
    if out.grad_fn is None:
        return out.requires_grad and not any(out is o for o in own)
    stack, seen = [out.grad_fn], {out.grad_fn}
    while stack:
        for node, _ in stack.pop().next_functions:
            if node is None or node in seen:
                continue
            seen.add(node)
            var = getattr(node, "variable", None)  # AccumulateGrad: a leaf
            if var is not None:
                if not any(var is o for o in own):
                    return True
                continue
            stack.append(node)
    return False


def _prepare(q: Tensor, v: Tensor, t: Tensor, uses_time: bool) -> tuple[list[Tensor], list[Tensor]]:
    """Differentiable ``(q, v[, t])`` and the caller's tensors they stand for."""
    originals = [q, v, t] if uses_time else [q, v]
    leaves = [_leaf(x) for x in originals]
    if leaves[1] is leaves[0]:  # the same tensor passed twice: two distinct inputs
        leaves[1] = leaves[1].view_as(leaves[1])
    return leaves, originals


def _needs_graph(grad_mode: bool, originals: Sequence[Tensor], out: Tensor, own: list) -> bool:
    return grad_mode and (any(x.requires_grad for x in originals) or _reaches_other_leaf(out, own))


def _zeros(x: Tensor, k: int | None) -> Tensor:
    return torch.zeros((k, *x.shape) if k else x.shape, dtype=x.dtype, device=x.device)


def _grad(
    outputs: Sequence[Tensor | None],
    inputs: Sequence[Tensor],
    cotangents: Sequence[Tensor],
    create_graph: bool,
    batched: bool = False,
) -> list[Tensor]:
    """``torch.autograd.grad`` where unused inputs and constant outputs give zeros."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents, strict=True) if o is not None]
    pairs = [(o, c) for o, c in pairs if o.requires_grad]
    k = cotangents[0].shape[0] if batched else None
    if not pairs:
        return [_zeros(x, k) for x in inputs]
    got = torch.autograd.grad(
        [o for o, _ in pairs],
        list(inputs),
        [c for _, c in pairs],
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
        is_grads_batched=batched,
    )
    return [_zeros(x, k) if g is None else g for g, x in zip(got, inputs, strict=True)]


def gradients(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    who: str,
    names: tuple[str, str],
    uses_time: bool,
    wrt: tuple[int, ...] = (0, 1),
) -> list[Tensor]:
    """The gradients of ``fn`` (batched, shape (B,)) with respect to the arguments ``wrt``.

    Each has the shape of its argument; differentiable when the caller needs it.
    """
    grad_mode = torch.is_grad_enabled()
    with torch.enable_grad():
        leaves, originals = _prepare(q, v, t, uses_time)
        args = [*leaves, t] if not uses_time else leaves
        out = evaluate(fn, *args, who, names, q.shape[0])
        need = _needs_graph(grad_mode, originals, out, leaves)
        wanted = [leaves[i] for i in wrt]
        grads = _grad([out.sum()], wanted, [torch.ones((), dtype=q.dtype, device=q.device)], need)
    return grads if need else [g.detach() for g in grads]


def _pullbacks(
    outputs: Sequence[Tensor | None],
    cotangents: Sequence[Tensor],
    inputs: Sequence[Tensor],
    strategy: str,
    need: bool,
) -> list[Tensor]:
    """``k`` pull-backs, cotangents of shape (k, B', ...) -> one (k, B', ...) per input.

    With ``"replicate"``, the outputs and inputs hold the ``k`` replicas of
    the batch one after the other (B' = k B) and each cotangent ``i`` is
    applied to replica ``i`` only.
    """
    k = cotangents[0].shape[0]
    if strategy == "batched":
        return _grad(outputs, inputs, cotangents, need, batched=True)
    if strategy == "replicate":
        flat = [c.reshape(-1, *c.shape[2:]) for c in cotangents]
        got = _grad(outputs, inputs, flat, need)
        return [g.reshape(k, -1, *g.shape[1:]) for g in got]
    rows = [_grad(outputs, inputs, [c[i] for c in cotangents], need) for i in range(k)]
    return [torch.stack(r) for r in zip(*rows, strict=True)]


def lagrangian_parts(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    layout: MassLayout,
    uses_time: bool,
    strategy: str | None = None,
) -> Parts:
    """:class:`~symnet.mechanics._structure.Parts` of a batched ``L`` by autograd.

    Parameters
    ----------
    fn : callable
        ``fn(q, qdot, t) -> (B,)`` (time-normalised ``L``).
    q, v : Tensor, shape (B, *S)
    t : Tensor, shape (B,)
    layout : MassLayout
    uses_time : bool
        Whether ``L`` takes ``t`` (else ``d_t dL/dqdot`` is zero and ``t`` is
        not differentiated).
    strategy : {"loop", "batched", "replicate"}, optional
        Default: :func:`choose_strategy`.
    """
    B, S, n, d = q.shape[0], q.shape[1:], layout.n, layout.d
    k = d if not layout.structured else d + 1
    strategy = strategy or choose_strategy(k, B, n)
    reps = k if strategy == "replicate" else 1
    grad_mode = torch.is_grad_enabled()
    dtype, device = q.dtype, q.device
    with torch.enable_grad():
        leaves, originals = _prepare(q, v, t, uses_time)
        if reps > 1:
            leaves_r = [x.repeat(reps, *([1] * (x.dim() - 1))) for x in leaves]
        else:
            leaves_r = leaves
        t_r = leaves_r[2] if uses_time else t  # not used by fn: no need to repeat it
        out = evaluate(fn, leaves_r[0], leaves_r[1], t_r, "L", ("q", "qdot"), B)
        need = _needs_graph(grad_mode, originals, out, leaves)
        one = torch.ones((), dtype=dtype, device=device)
        first = _grad([out.sum()], leaves_r, [one], create_graph=True)
        dq_r, p_r = first[0], first[1]
        dt_r = first[2] if uses_time else None
        if not layout.structured:  # rows of dp/d(q, qdot, t)
            eye = torch.eye(n, dtype=dtype, device=device)
            cot = eye[:, None, :].expand(n, B, n).reshape(n, B, *S)
            rows = _pullbacks([p_r], [cot], leaves_r, strategy, need)
            G_q = rows[0].reshape(n, B, n)
            blocks = rows[1].reshape(n, B, n).transpose(0, 1)[:, None]
            mixed = torch.einsum("ibj,bj->bi", G_q, v.reshape(B, n))
            if uses_time:
                mixed = mixed + rows[2].reshape(n, B).T
        else:  # d comb pull-backs of p and one of (dL/dq, dL/dt) along (qdot, 1)
            combs = layout.combs(dtype, device)[:, None].expand(d, B, *S)
            zero = torch.zeros((1, B, *S), dtype=dtype, device=device)
            cot_p = torch.cat([combs, zero])
            # qdot as a cotangent: part of the graph when the caller differentiates through it
            cot_q = torch.cat([zero.expand(d, B, *S), v[None]])
            cot_t = torch.zeros((k, B), dtype=dtype, device=device)
            cot_t[-1] = 1.0
            (G,) = _pullbacks(
                [p_r, dq_r, dt_r], [cot_p, cot_q, cot_t], [leaves_r[1]], strategy, need
            )
            G = G.reshape(k, B, n)
            blocks = layout.blocks_from_rows(G[:d])
            mixed = G[d]
        parts = Parts(blocks, dq_r[:B].reshape(B, n), mixed, p_r[:B].reshape(B, n))
    return parts if need else Parts(*(x.detach() for x in parts))
