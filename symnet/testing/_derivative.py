r"""Lie derivatives of the function under test, by the first method that can trace it.

Private module. For a generator ``X`` with infinitesimal action ``v = X.x``
on the floating inputs (integer inputs, labels and indices, are held fixed:
no tangent), the Lie derivative ``J v = d/ds fn(exp(s X).x)`` at ``s = 0`` is
computed by, in this order:

``"jvp"``
    Forward mode, ``torch.func.jvp`` (one pass per direction). Exact to
    round-off; fails on functions that call ``torch.autograd.grad`` or
    ``requires_grad_`` (forces ``-dE/dq`` of interatomic potentials), or use
    operations without a forward-mode formula (``torch.cdist``).
``"double-vjp"``
    Reverse mode twice: with ``u`` a dummy cotangent of the outputs, ``g(u)
    = J^T u = torch.autograd.grad(y, x, u, create_graph=True)`` is linear in
    ``u``, so ``J v = d/du <g(u), v>`` is a second ``torch.autograd.grad``
    (one backward pass per direction, the graph kept). Exact to round-off,
    and works through a model's own ``torch.autograd.grad(...,
    create_graph=True)``. Refused (next method) when an output does not
    require grad (a model that computes its forces with
    ``create_graph=False`` returns them detached) or when an output or an
    input is not connected to the graph (a model that differentiates a
    detached copy of its input), since autograd would then report a zero
    derivative that is not one.
``"finite-difference"``
    The finite action itself: ``D(h) = (fn(exp(hX).x) - fn(exp(-hX).x)) /
    (2h)`` (``group.exp``, ``group.act``; ``x + h v`` for a group without a
    finite ``exp``) at ``h, h/2, h/4``, with ``h =
    1e-2 max|x| / max|v|`` (a relative move of 1e-2 of the inputs), combined
    by Richardson extrapolation ``R(h) = (4 D(h/2) - D(h)) / 3`` (error
    ``O(h^4)``). The estimate ``J v = R(h/2)`` comes with its own error
    bound, added to the row's allowed difference::

        err = max|R(h/2) - R(h)| + 100 eps max|y| / (h/4)

    (the first term is the truncation error of the coarser ``R(h)``, an
    upper bound for that of ``R(h/2)``; the second bounds round-off in the
    outputs ``y``, ``eps`` the dtype's machine epsilon). For smooth models
    ``err`` is about 1e-9 of the outputs' size, so this method resolves
    symmetry breaking down to that level instead of float64 round-off.

The two probe directions that size the terms of ``J v`` (see
:mod:`symnet.testing.equivariance`) use the same method; under finite
differences a plain central difference ``(fn(x + h w) - fn(x - h w)) / 2h``
suffices (they only set the scale). Forward-mode directions and finite
difference evaluations go through ``fn`` stacked along the batch axis when
``fn`` is verified to be row-wise (:mod:`symnet.testing._stacked`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.func import jvp

from symnet.testing._calls import InputMutationError
from symnet.testing._stacked import agree, amax, split, stacked

Outputs = tuple[Tensor, ...]

__all__ = ["LieDerivative", "METHODS"]

METHODS = ("jvp", "double-vjp", "finite-difference")

_STEP = 1e-2


class _UnsupportedError(Exception):
    """The method cannot trace the function; try the next one."""


def _amax(xs: Sequence[Tensor]) -> float:
    return max(map(amax, xs), default=0.0)


class LieDerivative:
    """Directional derivatives ``J v`` of ``f`` at ``primals`` by the first method that works.

    Parameters
    ----------
    f : callable
        ``f(*floating_inputs)`` returning a tuple of tensors (integer inputs
        already bound).
    primals : tuple of Tensor
        The floating inputs, each ``(B, ...)``.
    call : callable
        ``call(*all_inputs)``: ``fn`` of every batched input (for finite
        differences of the finite action).
    inputs : tuple of Tensor
        All the batched inputs (floating and integer).
    moved : callable
        ``moved(generator, s)``: all the inputs moved by ``exp(s X)``.
    y0 : tuple of Tensor
        ``fn`` at the inputs.
    """

    def __init__(
        self,
        f: Callable[..., Outputs],
        primals: tuple[Tensor, ...],
        call: Callable[..., Outputs],
        inputs: tuple[Tensor, ...],
        moved: Callable[[Any, float], tuple[Tensor, ...]],
        y0: Outputs,
    ) -> None:
        self.f, self.primals, self.call = f, primals, call
        self.inputs, self.moved = inputs, moved
        self.y0 = tuple(y.detach() for y in y0)
        self.batch = int(primals[0].shape[0])
        self.method: str | None = None
        self.errors: list[str] = []
        self.probe_results: list[Outputs] = []
        self._first: Outputs | None = None
        self._vjp: tuple[tuple[Tensor, ...], tuple[Tensor, ...]] | None = None
        # evaluate many directions in one stacked call when verified (see _stacked)
        self.allow_stack = bool(getattr(call, "stackable", True))
        self.used_stack = False

    def along_all(
        self,
        gens: Sequence[Any],
        vs: Sequence[tuple[Tensor, ...]],
        probes: Sequence[tuple[Tensor, ...]],
    ) -> list[tuple[Outputs, list[float]]]:
        """``(J v, per-output error bounds)`` per generator; probe results in :attr:`probe_results`.

        The bounds are 0 for the AD methods (exact to round-off).
        """
        dirs = [*vs, *probes]
        results = None
        if self.method is None or (self.method == "jvp" and self.allow_stack):
            results = self._stacked_jvp(dirs)
            if results is not None:
                self.method = "jvp"
        if results is None:
            if self.method is None:
                self._choose(vs[0])
            if self.method == "finite-difference":
                out = self._richardson(gens, vs)
                self.probe_results = [self._central(w) for w in probes]
                return out
            results = self._directions(dirs)
        self.probe_results = results[len(vs) :]
        return [(r, [0.0] * len(r)) for r in results[: len(vs)]]

    # ----------------------------------------------------------------- methods
    def _choose(self, v: tuple[Tensor, ...]) -> None:
        for method, attempt in (("jvp", self._jvp), ("double-vjp", self._setup_vjp)):
            try:
                self._first = attempt(v)
            except InputMutationError:
                raise
            except Exception as err:  # noqa: BLE001 - any failure to trace: next method
                first = " ".join(str(err).split())[:160]
                self.errors.append(f"{method}: {type(err).__name__}: {first}")
                continue
            self.method = method
            return
        self.method = "finite-difference"

    def _jvp(self, v: tuple[Tensor, ...]) -> Outputs:
        return tuple(o.detach() for o in jvp(self.f, self.primals, v)[1])

    def _stacked_jvp(self, ws: Sequence[tuple[Tensor, ...]]) -> list[Outputs] | None:
        """``J w`` for every ``w`` in one forward-mode pass over ``len(ws) + 1`` stacked copies.

        None when ``fn`` cannot be traced, or is not row-wise: the primal
        outputs of every copy must equal ``y0`` to round-off, and a last copy
        with a zero tangent must get a Lie derivative of exactly 0 (a function
        that mixes rows passes tangents from one copy to another).
        """
        k = len(ws) + 1
        if not self.allow_stack or k < 2:
            return None
        try:
            prim = tuple(torch.cat([x] * k) for x in self.primals)
            tang = tuple(torch.cat([*t, torch.zeros_like(t[0])]) for t in zip(*ws, strict=True))
            y, dy = jvp(self.f, prim, tang)
        except InputMutationError:
            raise
        except Exception:  # noqa: BLE001 - no forward mode, or no larger batch: other ways
            return None
        ys, blocks = split(y, k, self.batch), split(tuple(o.detach() for o in dy), k, self.batch)
        if ys is None or blocks is None or not all(agree(b, self.y0) for b in ys):
            return None
        if any(bool((o != 0).any()) for o in blocks[-1]):
            return None
        self.used_stack = True
        return blocks[:-1]

    def _directions(self, ws: Sequence[tuple[Tensor, ...]]) -> list[Outputs]:
        """``J w`` for every ``w`` one by one (``ws[0]`` is the direction :meth:`_choose` used)."""
        if self._first is None:  # jvp chosen by a stacked pass that was later distrusted
            self._first = self._jvp(ws[0])
        if self.method == "double-vjp":
            rest = self._double_vjp_batched(ws[1:])  # vmap over cotangents: no stacked rows
            if rest is None:
                rest = [self._double_vjp(w) for w in ws[1:]]
            return [self._first, *rest]  # type: ignore[list-item]
        return [self._first, *(self._jvp(w) for w in ws[1:])]  # type: ignore[list-item]

    def _setup_vjp(self, v: tuple[Tensor, ...]) -> Outputs:
        xs = tuple(x.detach().requires_grad_(True) for x in self.primals)
        with torch.enable_grad():
            y = self.f(*xs)
            if not all(o.requires_grad for o in y):
                raise _UnsupportedError("an output does not require grad (computed detached)")
            us = tuple(torch.zeros_like(o, requires_grad=True) for o in y)
            g = torch.autograd.grad(y, xs, us, create_graph=True)
            if not all(gi.requires_grad for gi in g):
                raise _UnsupportedError("the gradient does not depend on the output cotangent")
        self._vjp = (g, us)
        return self._double_vjp(v)

    def _double_vjp(self, w: tuple[Tensor, ...]) -> Outputs:
        assert self._vjp is not None
        g, us = self._vjp
        with torch.enable_grad():
            out = torch.autograd.grad(g, us, w, retain_graph=True, allow_unused=True)
        if any(o is None for o in out):
            raise _UnsupportedError(
                "an output is not connected to the inputs in the autograd graph"
            )
        return tuple(o.detach() for o in out)  # type: ignore[union-attr]

    def _double_vjp_batched(self, ws: Sequence[tuple[Tensor, ...]]) -> list[Outputs] | None:
        """All the directions in one vmapped backward pass (``is_grads_batched``), or None."""
        if len(ws) < 2:
            return None
        assert self._vjp is not None
        g, us = self._vjp
        try:
            batched = tuple(torch.stack(list(t)) for t in zip(*ws, strict=True))
            with torch.enable_grad():
                out = torch.autograd.grad(
                    g, us, batched, retain_graph=True, allow_unused=True, is_grads_batched=True
                )
        except InputMutationError:
            raise
        except Exception:  # noqa: BLE001 - an operation without a batching rule: one by one
            return None
        if any(o is None for o in out):
            return None
        return [tuple(o[i].detach() for o in out) for i in range(len(ws))]  # type: ignore[index]

    def _step(self, v: tuple[Tensor, ...]) -> float:
        vmax = _amax(v)
        if vmax == 0.0:
            return 0.0
        return _STEP * max(_amax(self.primals), 1e-300) / vmax

    def _central(self, w: tuple[Tensor, ...]) -> Outputs:
        h = self._step(w)
        if h == 0.0:
            return tuple(torch.zeros_like(y) for y in self.y0)
        sets = [tuple(x + s * wi for x, wi in zip(self.primals, w, strict=True)) for s in (h, -h)]
        plus, minus = self._evaluate(self.f, sets, self.primals)
        return tuple((a.detach() - b.detach()) / (2 * h) for a, b in zip(plus, minus, strict=True))

    def _evaluate(
        self, fn: Callable[..., Outputs], sets: list[tuple[Tensor, ...]], base: tuple[Tensor, ...]
    ) -> list[Outputs]:
        blocks = None
        if self.allow_stack:
            blocks = stacked(fn, [base, *sets], self.batch, reference=self.y0)
        self.used_stack = self.used_stack or blocks is not None
        return blocks[1:] if blocks is not None else [fn(*s) for s in sets]

    def _richardson(
        self, gens: Sequence[Any], vs: Sequence[tuple[Tensor, ...]]
    ) -> list[tuple[Outputs, list[float]]]:
        steps = [self._step(v) for v in vs]
        moves = [
            (gen, v, sign * h / 2**level)
            for gen, v, h in zip(gens, vs, steps, strict=True)
            if h > 0
            for level in range(3)
            for sign in (1.0, -1.0)
        ]
        try:
            sets = [self.moved(gen, s) for gen, _, s in moves]
            fn, base = self.call, self.inputs
        except (ValueError, NotImplementedError, TypeError):
            # a group without a finite exp(s X) (a custom generator): differentiate along v
            # itself, whose central differences converge to the same J v
            sets = [
                tuple(x + s * vi for x, vi in zip(self.primals, v, strict=True))
                for _, v, s in moves
            ]
            fn, base = self.f, self.primals
        values = iter(self._evaluate(fn, sets, base))
        out = []
        for h in steps:
            if h == 0.0:
                out.append((tuple(torch.zeros_like(y) for y in self.y0), [0.0] * len(self.y0)))
                continue
            d = []
            for level in range(3):
                plus, minus = next(values), next(values)
                s = h / 2**level
                d.append(
                    [(a.detach() - b.detach()) / (2 * s) for a, b in zip(plus, minus, strict=True)]
                )
            r1 = [(4 * b - a) / 3 for a, b in zip(d[0], d[1], strict=True)]
            r2 = [(4 * b - a) / 3 for a, b in zip(d[1], d[2], strict=True)]
            err = [
                _amax([a - b]) + 100 * torch.finfo(y.dtype).eps * _amax([y]) / (h / 4)
                for a, b, y in zip(r1, r2, self.y0, strict=True)
            ]
            out.append((tuple(r2), err))
        return out
