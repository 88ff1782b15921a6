"""Gradients of a Lagrangian or Hamiltonian at a batch of states, and the checks that trust them.

Private module. :func:`gradients` evaluates ``fn(q, v, t)`` and its gradients
in one reverse-mode pass (``torch.func.vjp``); :func:`probe_function` makes
every check the checker needs before it trusts ``fn``: no writes into its
inputs (:func:`check_no_mutation`), differentiable per sample and dependent
on ``v`` (:func:`check_differentiable`), and an autodiff gradient that agrees
with finite differences (:func:`symnet._probe.check_autodiff`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad, vjp, vmap

from symnet._probe import check_autodiff
from symnet._util import check_finite, dtype_mismatch, format_shape, with_time

__all__ = [
    "StateGradients",
    "check_differentiable",
    "check_no_mutation",
    "gradients",
    "probe_function",
]


@dataclass
class StateGradients:
    """A scalar function and its gradients at a batch of states.

    Attributes
    ----------
    value : Tensor
        ``L`` (or ``H``), shape ``(B,)``.
    dq, dv : Tensor
        Gradients with respect to ``q`` and ``qdot`` (or ``p``), shape ``(B, *S)``.
    dt : Tensor
        Explicit time derivative, shape ``(B,)``.
    """

    value: Tensor
    dq: Tensor
    dv: Tensor
    dt: Tensor


def _dtype_hint(fn: Callable, dtype: torch.dtype, name: str, cast: bool) -> str:
    hint = dtype_mismatch(fn, dtype)
    if cast:
        # typically a plain function closing over a float32 module or tensor: only modules and
        # methods of modules are cast to float64
        return (
            f"the checker runs in float64 and casts a copy of {name} only when {name} is an "
            "nn.Module or a method of one: pass the module (or a module wrapping it), or build "
            "the model in float64"
        )
    if hint:
        return hint
    return (
        f"a model that {name} uses probably has another dtype than the states ({dtype}): cast "
        "the states or the model so that they agree"
    )


def gradients(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    name: str = "L",
    *,
    cast: bool = True,
    functional: bool = True,
) -> StateGradients:
    """Value and gradients of ``fn(q, v, t)`` (batched, shape ``(B,)``) in one reverse pass.

    ``cast`` says whether ``fn`` is the checker's float64 cast (it words the
    hint of a dtype error). ``functional``: the pass is a ``torch.func.vjp``
    (True) or, outside any ``torch.func`` transform, a plain
    ``torch.autograd.grad`` (False): the same numbers, but ``fn`` runs
    untransformed, so a function that takes a data-dependent fast path
    outside transforms (a neighbour list: O(N) instead of all O(N^2) pairs)
    keeps it. The checker's hot path (charges along the trajectories) uses
    False; the probes of ``fn`` keep ``torch.func``.

    Raises
    ------
    ValueError
        ``fn`` returns a shape other than ``(B,)``, or non-finite values.
    TypeError
        ``fn`` cannot be differentiated with ``torch.func``.
    """
    f = with_time(fn, 2)
    plain = not functional and torch._C._functorch.peek_interpreter_stack() is None
    try:
        value, pullback = _autograd_vjp(f, q, v, t) if plain else vjp(f, q, v, t)
    except (RuntimeError, TypeError) as exc:
        text = " ".join(str(exc).split())
        if "dtype" in text or ("Double" in text and "Float" in text):
            kind = str(q.dtype).replace("torch.", "")
            raise TypeError(
                f"{name} could not be evaluated in {kind} ({text}); "
                + _dtype_hint(fn, q.dtype, name, cast)
            ) from None
        raise TypeError(
            f"{name} could not be differentiated with torch.func ({text}); it must be written "
            "with differentiable torch operations (no .item(), .numpy() or in-place writes to "
            "inputs)"
        ) from None
    if not isinstance(value, Tensor) or value.shape != (q.shape[0],):
        got = format_shape(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(
            f"{name} must return shape ({q.shape[0]},) for a batch of {q.shape[0]}, got {got}"
        )
    check_finite(value, f"{name}(q, ...)")
    dq, dv, dt = pullback(torch.ones_like(value))
    return StateGradients(value, dq, dv, dt)


def _autograd_vjp(f: Callable, q: Tensor, v: Tensor, t: Tensor) -> tuple[Tensor, Callable]:
    """``torch.func.vjp(f, q, v, t)`` computed with ``torch.autograd`` (no transform active)."""
    args = [x.detach().requires_grad_(True) for x in (q, v, t)]
    with torch.enable_grad():
        value = f(*args)

    def pullback(cotangent: Tensor) -> tuple[Tensor, ...]:
        if not (isinstance(value, Tensor) and value.requires_grad):
            return tuple(torch.zeros_like(x) for x in args)
        out = torch.autograd.grad(value, args, cotangent, allow_unused=True)
        return tuple(
            torch.zeros_like(x) if g is None else g for x, g in zip(args, out, strict=True)
        )

    return (value.detach() if isinstance(value, Tensor) else value), pullback


def check_differentiable(
    fn: Callable, grads: StateGradients, q: Tensor, v: Tensor, t: Tensor, name: str = "L"
) -> None:
    """Reject a function whose gradients the checker cannot trust.

    Two failures would otherwise pass silently and give wrong charges (and so
    wrong verdicts) when closed-form dynamics are integrated:

    - a gradient cut by ``.item()``, ``float()`` or a numpy round trip, which
      ``vjp`` does not notice: the per-sample function is differentiated
      under ``vmap`` (as the Euler-Lagrange dynamics do), where these raise;
    - gradients that vanish identically (``.detach()`` on the inputs): then
      ``p = 0`` and every charge and rate is zero. A zero gradient at the
      given states is valid physics (a system released from rest has
      ``dL/dqdot = 0``), so it is refused only when it is zero at randomly
      perturbed states too.

    Parameters
    ----------
    fn : callable
        ``fn(q, v, t)`` (or without ``t``) returning shape ``(B,)``.
    grads : StateGradients
        From :func:`gradients` of ``fn`` at ``(q, v, t)``.
    q, v : Tensor
        Shape ``(B, *S)``.
    t : Tensor
        Shape ``(B,)``.

    Raises
    ------
    TypeError
        ``fn`` cannot be differentiated per sample under ``torch.func.vmap``.
    ValueError
        Its gradient with respect to ``v`` (``qdot`` or ``p``) is zero at every
        state and at perturbed states.
    """
    f = with_time(fn, 2)

    def one(q1: Tensor, v1: Tensor, t1: Tensor) -> Tensor:
        return f(q1.unsqueeze(0), v1.unsqueeze(0), t1.unsqueeze(0)).reshape(())

    n = min(2, q.shape[0])
    try:
        vmap(grad(one, argnums=(0, 1)))(q[:n], v[:n], t[:n])
    except (RuntimeError, TypeError) as exc:
        text = " ".join(str(exc).split())
        first = text.split(". ")[0][:240]
        raise TypeError(
            f"{name} could not be differentiated per sample with torch.func.vmap ({first}); "
            f"{name} must be built from differentiable torch operations, without .item(), "
            "float(), .numpy() or Python control flow on tensor values (use torch.where)"
        ) from None
    var = "qdot" if name == "L" else "p"
    if not bool(grads.dv.any()) and not bool(_perturbed_dv(fn, q, v, t, name).any()):
        raise ValueError(
            f"{name} does not depend on {var}: d{name}/d{var} is zero at every state of the "
            "batch and at randomly perturbed states, so every charge would be zero. "
            f"{name} must be differentiable in {var} (no .detach() on its inputs)"
        )


def _perturbed_dv(fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str) -> Tensor:
    """The gradient in ``v`` at a few states near ``(q, v)`` (random, unit-scale offsets)."""
    gen = torch.Generator().manual_seed(0)
    n = min(3, q.shape[0])
    out = []
    for x in (q[:n], v[:n]):
        x = x.detach()
        noise = torch.randn(x.shape, generator=gen, dtype=x.dtype).to(x.device)
        out.append(x + 0.1 * (x.abs().mean() + 1.0) * noise)
    try:
        return gradients(fn, out[0], out[1], t[:n].detach(), name).dv
    except (ValueError, TypeError):  # not evaluable near the states: do not refuse on this
        return torch.ones(1, device=q.device)


def check_no_mutation(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, name: str, arg_names: Sequence[str]
) -> None:
    """Raise ValueError when ``fn`` writes into its inputs (evaluated once on copies).

    A function that fails here is left to :func:`gradients`, which words the error.
    """
    f = with_time(fn, 2)
    args = [x.detach().clone() for x in (q, v, t)]
    try:
        with torch.no_grad():
            f(*args)
    except Exception:  # noqa: BLE001 - reported by gradients() with its own message
        return
    for x, copy, arg in zip((q, v, t), args, (*arg_names, "t"), strict=True):
        if not torch.equal(copy, x.detach()):
            raise ValueError(
                f"{name} modified its input {arg} in place; {name} must not write into its "
                f"arguments (use out-of-place operations: {arg} * 2 instead of {arg}.mul_(2))"
            )


def probe_function(
    fn: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    name: str = "L",
    arg_names: Sequence[str] = ("q", "qdot"),
    *,
    cast: bool = True,
) -> StateGradients:
    """Every check of ``fn`` the checker makes before trusting it, at states ``(q, v, t)``.

    ``fn`` must not modify its inputs, must return shape ``(B,)`` and finite
    values, be differentiable per sample with ``torch.func``, depend on ``v``,
    and its autodiff gradient must agree with finite differences of its
    values (:func:`symnet._probe.check_autodiff`: no part computed under
    ``torch.no_grad()``, on ``q.detach()`` or through numpy).

    Returns
    -------
    StateGradients
        The value and gradients at ``(q, v, t)``.

    Raises
    ------
    ValueError
        A mutation, a wrong output shape, non-finite values, no dependence on
        ``v``, or a gradient that misses part of the dependence
        (``GradientMismatchError``).
    TypeError
        ``fn`` cannot be evaluated or differentiated with ``torch.func``.
    """
    check_no_mutation(fn, q, v, t, name, arg_names)
    grads = gradients(fn, q, v, t, name, cast=cast)
    check_differentiable(fn, grads, q, v, t, name)
    check_autodiff(fn, q, v, t, name=name, arg_names=tuple(arg_names))
    return grads
