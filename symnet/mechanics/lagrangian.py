"""Euler-Lagrange accelerations of any differentiable Lagrangian, batched.

For ``L(q, qdot, t)`` the Euler-Lagrange equations ``d/dt dL/dqdot = dL/dq``
give the acceleration

    qddot = M^-1 [dL/dq - (d2L/dqdot dq) qdot - d_t dL/dqdot],   M = d2L/dqdot2,

with ``n = prod(S)`` coordinates. Two paths compute ``M``, ``dL/dq``, the
mixed term ``(d2L/dqdot dq) qdot + d_t dL/dqdot`` and ``p = dL/dqdot``:

- plain calls (not inside a ``torch.func`` transform): ``torch.autograd`` on
  the whole batch (:mod:`symnet.mechanics._derivatives`): one reverse pass of
  ``L.sum()``, then ``n`` pull-backs of ``p`` whose cotangent is the same
  unit vector in every sample, each a row of ``dp/dq``, ``M`` and ``dp/dt``
  for the whole batch (run vmapped, or on a replicated batch when it is
  small). This relies on ``L[b]`` depending on state ``b`` only, which the
  first call checks against the per-sample path at up to three states;
- inside transforms and in :meth:`_EulerLagrange.traceable` (for
  ``torch.compile``): the same derivatives per sample with ``torch.func``
  (:mod:`symnet.mechanics._per_sample`), vmapped over the batch, so the field
  composes with ``vmap``, ``jvp`` and ``grad``.

Both give identical values for a dense ``M``. Measured on one thread
(float32, ``torch.no_grad``; ``benchmarks/bench_mechanics.py``), the batched
path costs about half: a 4-128-128-1 softplus MLP Lagrangian at batch 8
1.61 -> 0.87 ms (3.7x one gradient of ``L``, from 6.9x), at batch 256 3.0 ->
2.3 ms; the double pendulum at batch 8 2.2 -> 1.1 ms (2.6x one gradient of
``L``, from 5.0x). Forward and backward to the parameters of the MLP: 2.4 ->
1.5 ms at batch 8, 7.0 -> 6.2 ms at batch 256.

Only what the solve needs: the mixed term alone is cheapest as ONE reverse
pull-back (``d/dqdot (dL/dq . w) = (d2L/dqdot dq) w`` at ``w = qdot``: 0.37
ms at batch 8 for the MLP, against 0.57 ms for two rows of ``dp/dq`` and 1.4
ms forward over reverse, whose ``torch.autograd.forward_ad`` and ``torch.func``
rules through a backward graph fall back to Python decompositions). But the
rows come with ``M``, which the solve needs anyway: ``n`` pull-backs with
respect to ``(q, qdot, t)`` against ``n`` with respect to ``qdot`` plus that
one measured within 5% of each other for ``n`` = 6 to 96, so a dense ``M``
keeps the rows (the arithmetic of the per-sample path, hence its values).
A structured ``M`` (``mass_structure="block"`` or ``"diagonal"``,
:mod:`symnet.mechanics._structure`) takes ``d`` comb pull-backs for the
blocks and the single one for the mixed term, and solves per block: for
N = 16 to 64 particles in 3D, 1.5x to 7.5x faster than the dense ``M`` and
1.4x to 3.1x one gradient of ``L``.

The mass matrix of a learned Lagrangian is often indefinite and can be
singular (docs/theory.md, section 'Noether charges'). The solve is therefore
checked: the condition number ``max |lambda| / min |lambda|`` of every
state's ``M`` (``eigvalsh``, about 1.7x faster than ``svdvals``) is compared
with ``max_condition`` and an ill-conditioned matrix raises
:class:`SingularMassMatrixError`; there is no silent pseudo-inverse.

References
----------
M. Cranmer, S. Greydanus, S. Hoyer, P. Battaglia, D. Spergel, S. Ho,
"Lagrangian Neural Networks", ICLR workshop (2020), arXiv:2003.04630.
H. Goldstein, C. Poole, J. Safko, *Classical Mechanics*, 3rd ed. (2002), ch. 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._util import accepts_time, with_time
from symnet.mechanics._batch_check import check_agreement, check_independent, explain_failure
from symnet.mechanics._derivatives import gradients, lagrangian_parts
from symnet.mechanics._guard import (
    AutodiffProbe,
    check_unchanged,
    copies,
    evaluation_error,
    first_call_allowed,
    fn_name,
)
from symnet.mechanics._per_sample import Scalar, lagrangian_parts_fn, momentum_fn
from symnet.mechanics._structure import (
    STRUCTURES,
    MassLayout,
    Parts,
    checked_solve,
    default_max_condition,
)
from symnet.mechanics.field import SecondOrderField, _check_state, as_time

__all__ = ["lagrangian_vector_field", "mass_matrix", "momentum"]

_HINT = (
    "L must be built from differentiable torch operations on q and qdot "
    "(no .detach(), .item(), float(), integer casts, numpy or Python control flow on "
    "tensor values)"
)
_NAMES = ("q", "qdot")
_LABELS = ("d2L/dqdot2", "dL/dq", "the mixed term (d2L/dqdot dq) qdot + d_t dL/dqdot", "dL/dqdot")


class _EulerLagrange:
    """Batched ``(q, qdot, t) -> qddot`` for a Lagrangian; see :func:`lagrangian_vector_field`.

    Top-level calls take the batched autograd path; calls inside a
    ``torch.func`` transform (and :meth:`traceable`) the per-sample one. The
    first top-level call checks the batched derivatives against the
    per-sample ones at up to three states (``L`` must not mix the samples)
    and ``mass_structure`` against the dense ``M``; until then the per-sample
    path uses the dense ``M``.
    """

    def __init__(
        self,
        L: Callable,
        regularization: float,
        max_condition: float | None,
        check_gradients: bool = True,
        mass_structure: str = "dense",
    ) -> None:
        self.L = L
        self.regularization = float(regularization)
        self.max_condition = max_condition
        self.mass_structure = mass_structure
        self.probe = AutodiffProbe(L, "L", _NAMES, check_gradients)
        self.fn = with_time(L, 2)
        self.uses_time = accepts_time(L, 2)
        self.scalar = Scalar(L, "L")
        self.verified = False  # the batched derivatives and the structure are checked
        self.per_sample = False  # True: always the torch.func path (benchmarks of it)
        self.strategy: str | None = None  # see symnet.mechanics._derivatives.choose_strategy
        self._per_sample: dict[str, Callable[[Tensor, Tensor, Tensor], Parts]] = {}

    def _parts_fn(self, name: str) -> Callable[[Tensor, Tensor, Tensor], Parts]:
        if name not in self._per_sample:
            self._per_sample[name] = lagrangian_parts_fn(self.scalar, name)
        return self._per_sample[name]

    def parts(self, q: Tensor, qdot: Tensor, t: Tensor) -> tuple[MassLayout, Parts]:
        """The layout of ``M`` and the :class:`Parts` at these states, without the solve."""
        eager = not self.per_sample and first_call_allowed(q)
        name = self.mass_structure if (eager or self.verified) else "dense"
        layout = MassLayout(name, tuple(q.shape[1:]))
        try:
            if eager:
                parts = lagrangian_parts(self.fn, q, qdot, t, layout, self.uses_time, self.strategy)
            else:
                parts = self._parts_fn(name)(q, qdot, t)
        except RuntimeError as err:
            better = evaluation_error(err, self.L, q.dtype, "L")
            if better is not err:
                raise better from err
            how = "" if eager else " with torch.func"
            raise RuntimeError(f"differentiating L{how} failed: {err}. {_HINT}") from err
        if eager and not self.verified:
            self._verify(q, qdot, t, layout, parts)
        return layout, parts

    def _verify(self, q: Tensor, qdot: Tensor, t: Tensor, layout: MassLayout, parts: Parts) -> None:
        """Compare with the per-sample dense path at up to three states (once per field)."""
        m = min(3, q.shape[0])
        args = (q[:m].detach(), qdot[:m].detach(), t[:m].detach())
        try:
            with torch.no_grad():
                ref = self._parts_fn("dense")(*args)
        except RuntimeError as err:
            raise explain_failure(err, self.fn, self.L, q, qdot, t, "L", _NAMES, _HINT) from err
        M = ref.blocks[:, 0]
        layout.check_dense(M)
        eager = (layout.dense(parts.blocks[:m]), parts.dq[:m], parts.mixed[:m], parts.p[:m])
        check_agreement(eager, (M, ref.dq, ref.mixed, ref.p), _LABELS, "L", _NAMES)
        self.verified = True

    def __call__(self, q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
        layout, parts = self.parts(q, qdot, t)
        # once per field: are M and rhs the derivatives of L's values (before trusting the solve)
        self.probe(q, qdot, t)
        blocks = layout.regularize(parts.blocks, self.regularization)
        rhs = parts.dq - parts.mixed
        qddot = checked_solve(
            layout, blocks, rhs, parts.p, self.max_condition, self.regularization, _HINT
        )
        return qddot.reshape(q.shape)

    def traceable(self) -> Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]:
        """``g(q, qdot, t) -> (qddot, bad)`` for ``torch.compile(fullgraph=True)``.

        ``qddot`` (B, *S) as the field computes it, with ``torch.func`` only
        (no checks, no host synchronisation); ``bad`` (B,) bool is True where
        the field would raise :class:`SingularMassMatrixError` (``qddot`` is
        NaN there). States with NaN/inf derivatives give NaN and are not bad.
        Uses ``mass_structure`` once a top-level call has verified it.
        """
        name = self.mass_structure if self.verified else "dense"
        parts_fn = self._parts_fn(name)
        lam, max_condition = self.regularization, self.max_condition

        def g(q: Tensor, qdot: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
            layout = MassLayout(name, tuple(q.shape[1:]))
            limit = default_max_condition(q.dtype) if max_condition is None else max_condition
            parts = parts_fn(q, qdot, t)
            blocks = layout.regularize(parts.blocks, lam)
            rhs = parts.dq - parts.mixed
            if not (torch.is_grad_enabled() and (blocks.requires_grad or rhs.requires_grad)):
                qddot, bad = layout.flags_and_solve(blocks, rhs, float(limit))
                return qddot.reshape(q.shape), bad
            finite, _, bad = layout.flags(blocks, float(limit))
            qddot = layout.solve(blocks, rhs, finite & ~bad)
            return qddot.reshape(q.shape), bad

        return g

    def __repr__(self) -> str:
        return f"EulerLagrange(L={getattr(self.L, '__name__', type(self.L).__name__)})"


def lagrangian_vector_field(
    L: Callable,
    *,
    regularization: float = 0.0,
    max_condition: float | None = None,
    check_gradients: bool = True,
    mass_structure: str = "dense",
) -> SecondOrderField:
    """The acceleration field ``(q, qdot, t) -> qddot`` of a Lagrangian.

    Parameters
    ----------
    L : callable
        ``L(q, qdot)`` or ``L(q, qdot, t)`` with ``q, qdot`` of shape (B, *S)
        and ``t`` of shape (B,), returning shape (B,) in the dtype of the
        states. An ``nn.Module`` works; its parameters receive gradients
        through the field. Which parameter receives the time: see
        ``docs/mechanics.md`` (``L(q, qdot, k=4.0)`` is time independent).
    regularization : float, default 0
        ``lam >= 0``: solve ``(M + lam I) qddot = rhs`` instead of ``M qddot =
        rhs`` (Tikhonov). This makes every solve possible but biases the
        dynamics; use it knowingly.
    max_condition : float, optional
        Largest accepted condition number of ``M`` (of ``M + lam I`` when
        regularized). Default ``1 / (100 * eps)`` of the dtype: about 4.5e13
        in float64 and 8.4e4 in float32.
    check_gradients : bool, default True
        On the field's first call (outside a ``torch.func`` transform), compare
        the autodiff derivatives of ``L`` with finite differences of its values
        at up to three of the states (about ten evaluations of ``L``, once per
        field), so that a part of ``L`` computed under ``torch.no_grad()``, on
        ``q.detach()`` or through numpy is an error instead of wrong dynamics.
        Pass False only for a ``L`` known to be differentiable whose values
        are too noisy for finite differences.
    mass_structure : {"dense", "block", "diagonal"}, default "dense"
        What ``M = d2L/dqdot2`` looks like. ``"block"``: states of shape
        (B, *P, d) whose kinetic term never couples two particles (``M`` is
        block-diagonal with one ``d x d`` block per particle, e.g. ``sum_j
        T_j(q, qdot_j)`` with a position- or velocity-dependent mass);
        ``"diagonal"``: ``M`` is diagonal. Then ``M`` costs ``d`` (or one)
        reverse passes instead of ``n = prod(S)`` and the solve is per block:
        much faster for many particles, same result. The first call checks
        the declaration against the dense ``M`` at up to three states (a
        ValueError naming ``mass_structure`` when it does not hold). The
        condition number checked is the one of the whole ``M`` in every case.

    Returns
    -------
    SecondOrderField
        Callable as ``f(q, qdot, t=0.0) -> qddot`` of shape (B, *S); ``t`` may
        be a float, a 0-d tensor or of shape (B,). Its ``source`` is ``L``.

    Raises
    ------
    SingularMassMatrixError
        (from the field) ``M`` is singular or too ill-conditioned at some
        state; the message names the first batch index and its condition number.
    GradientMismatchError
        (from the field, a ValueError) the autodiff derivative of ``L`` with
        respect to ``q`` or ``qdot`` misses part of its values' dependence.
    ValueError
        ``mass_structure`` is not one of the names. (From the field)
        ``q``/``qdot`` shapes differ or contain NaN/inf; ``L`` does not return
        shape (B,); ``L`` does not depend on ``qdot``; ``L`` writes into its
        arguments; ``L`` mixes the samples of the batch (its value at one
        state depends on the others: a batch norm in training mode, a mean
        over the batch axis); ``mass_structure`` does not hold.
    TypeError
        (from the field) ``L`` returns another dtype than the states, or holds
        parameters of another dtype (the message says how to cast).

    Examples
    --------
    >>> import torch
    >>> L = lambda q, qdot: 0.5 * (qdot**2).sum(-1) - 0.5 * (q**2).sum(-1)
    >>> f = lagrangian_vector_field(L)
    >>> f(torch.ones(3, 1, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64))[:, 0]
    tensor([-1., -1., -1.], dtype=torch.float64)
    """
    if not callable(L):
        raise TypeError(f"L must be callable, got {type(L).__name__}")
    if not regularization >= 0:
        raise ValueError(f"regularization must be >= 0, got {regularization}")
    if max_condition is not None and not max_condition >= 1:
        raise ValueError(f"max_condition must be >= 1, got {max_condition}")
    if mass_structure not in STRUCTURES:
        raise ValueError(
            f"mass_structure must be one of {', '.join(map(repr, STRUCTURES))}, "
            f"got {mass_structure!r}"
        )
    field = SecondOrderField(
        _EulerLagrange(L, regularization, max_condition, bool(check_gradients), mass_structure),
        source=L,
        velocity_dependent=None,
        uses_time=accepts_time(L, 2),
    )
    field.label = "L"
    return field


class _StateFunction:
    """``(q, qdot, t=0.0) -> value`` of a Lagrangian, validated and checked like a field.

    The first call (outside a ``torch.func`` transform) evaluates on copies of
    the inputs, compared afterwards, and probes ``L``'s autodiff derivatives.
    """

    def __init__(self, L: Callable, compute: Callable, check_gradients: bool, name: str) -> None:
        if not callable(L):
            raise TypeError(f"L must be callable, got {type(L).__name__}")
        self.L = L
        self.compute = compute
        self.probe = AutodiffProbe(L, "L", ("q", "qdot"), check_gradients)
        self.pending = True
        self.__name__ = name

    def _evaluate(self, q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
        try:
            return self.compute(q, qdot, t)
        except RuntimeError as err:
            better = evaluation_error(err, self.L, q.dtype, "L")
            if better is not err:
                raise better from err
            if str(err).startswith("differentiating L"):
                raise
            raise RuntimeError(f"differentiating L with torch.func failed: {err}. {_HINT}") from err

    def __call__(self, q: Tensor, qdot: Tensor, t: Any = 0.0) -> Tensor:
        _check_state(q, qdot, ("q", "qdot"))
        t = as_time(t, q)
        if not (self.pending and first_call_allowed(q)):
            return self._evaluate(q, qdot, t)
        args = copies(q, qdot, t)
        try:
            out = self._evaluate(*args)
        finally:
            check_unchanged((q, qdot, t), args, ("q", "qdot", "t"), "L")
        self.probe(*args)
        self.pending = False
        return out

    def __repr__(self) -> str:
        return f"{self.__name__}(L={fn_name(self.L)})"


def mass_matrix(L: Callable, *, check_gradients: bool = True) -> Callable[..., Tensor]:
    """``(q, qdot, t=0.0) -> M = d2L/dqdot2`` of shape (B, n, n), ``n = prod(S)``.

    No conditioning check is made; this is the matrix that
    :func:`lagrangian_vector_field` checks and solves with. The first call
    checks ``L`` as the field does (``check_gradients``: see
    :func:`lagrangian_vector_field`); keep the returned function to pay for
    that once.
    """
    core = _EulerLagrange(L, 0.0, None, False) if callable(L) else None

    def mass(q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
        layout, parts = core.parts(q, qdot, t)
        return layout.dense(parts.blocks)

    return _StateFunction(L, mass, check_gradients, "mass_matrix")


def momentum(L: Callable, *, check_gradients: bool = True) -> Callable[..., Tensor]:
    """``(q, qdot, t=0.0) -> p = dL/dqdot`` of shape (B, *S) (canonical momentum).

    The first call checks ``L`` as :func:`lagrangian_vector_field` does.
    """
    compute = _Momentum(L) if callable(L) else None
    return _StateFunction(L, compute, check_gradients, "momentum")


class _Momentum:
    """Batched ``(q, qdot, t) -> dL/dqdot``: autograd at top level, checked once; else vmap."""

    def __init__(self, L: Callable) -> None:
        self.L = L
        self.fn = with_time(L, 2)
        self.uses_time = accepts_time(L, 2)
        self.per_sample = momentum_fn(Scalar(L, "L"))
        self.verified = False

    def __call__(self, q: Tensor, qdot: Tensor, t: Tensor) -> Tensor:
        if not first_call_allowed(q):
            return self.per_sample(q, qdot, t)
        (p,) = gradients(self.fn, q, qdot, t, "L", _NAMES, self.uses_time, wrt=(1,))
        if not self.verified:
            m = min(3, q.shape[0])
            try:
                with torch.no_grad():
                    ref = self.per_sample(q[:m].detach(), qdot[:m].detach(), t[:m].detach())
            except RuntimeError as err:
                raise explain_failure(err, self.fn, self.L, q, qdot, t, "L", _NAMES, _HINT) from err
            check_agreement((p[:m],), (ref,), _LABELS[3:], "L", _NAMES)
            check_independent(self.fn, q, qdot, t, "L", _NAMES)  # also where p does not show it
            self.verified = True
        return p
