"""One-off checks that the batched autograd derivatives of a field can be trusted.

Private module. The fast path of the fields (:mod:`symnet.mechanics._derivatives`)
differentiates ``L.sum()`` (or ``H.sum()``) over the batch, which gives every
sample's derivatives only when ``L[b]`` depends on state ``b`` alone. A
batch norm in training mode, a mean over the batch axis or ``.item()`` of a
batch reduction break this silently. So on a field's first call (outside any
transform):

- a Lagrangian field compares the batched derivatives at up to three states
  with the per-sample ``torch.func`` path (:func:`check_agreement`), which
  evaluates ``L`` on one state at a time; when that path cannot run,
  :func:`explain_failure` tells a Lagrangian that mixes samples from one that
  ``torch.func`` cannot differentiate;
- a Hamiltonian field changes state 0 and checks that ``H`` at the other states
  does not change (:func:`check_independent`: three evaluations of ``H``).

Either raises a ValueError naming the function and what mixes the samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from symnet.mechanics._guard import evaluation_error

__all__ = ["check_agreement", "check_independent", "explain_failure", "mixing_error"]

#: Parts of a functorch error that name the cause better than a mixing test could.
_FUNCTORCH_CAUSES = (".item()", "data-dependent control flow", "randomness")


def mixing_error(who: str, names: tuple[str, str], detail: str) -> ValueError:
    """The error for a function whose value at one state depends on other states."""
    return ValueError(
        f"{who} mixes the samples of the batch ({detail}): {who}({names[0]}, {names[1]})[b] must "
        f"depend on {names[0]}[b], {names[1]}[b] (and t[b]) only, because its derivatives are "
        "taken for the whole batch at once. Batch norm in training mode (call .eval() on the "
        "module), a mean or sum over the batch axis (dim 0) and .item() of a batch reduction "
        "mix the samples; reduce over the state axes (dim=-1) instead"
    )


def check_independent(
    fn: Callable, q: Tensor, v: Tensor, t: Tensor, who: str, names: tuple[str, str]
) -> None:
    """Raise when changing state 0 changes ``fn`` at another state of the batch.

    Parameters
    ----------
    fn : callable
        ``fn(q, v, t) -> (B,)`` (time-normalised).
    q, v : Tensor, shape (B, *S)
    t : Tensor, shape (B,)

    Raises
    ------
    ValueError
        ``fn`` mixes the samples, or is not deterministic (two evaluations at
        the same states differ: dropout in training mode).
    """
    if q.shape[0] < 2:
        return
    with torch.no_grad():
        q, v, t = q.detach(), v.detach(), t.detach()
        base, again = fn(q, v, t), fn(q, v, t)
        if not _same(base, again):
            raise ValueError(
                f"{who} returned different values for the same states (dropout or another "
                f"random operation?): {who} must be a deterministic function of the states; "
                "call .eval() on a module"
            )
        shift = 0.37 * (q[:1].abs().amax() + 1.0)
        q2 = torch.cat([q[:1] + shift, q[1:]])
        v2 = torch.cat([v[:1] - 0.5 * shift, v[1:]])
        t2 = torch.cat([t[:1] + 0.25, t[1:]])
        moved = fn(q2, v2, t2)
    if not _same(base[1:], moved[1:]):
        j = 1 + int((~_equal(base[1:], moved[1:])).nonzero()[0, 0])
        raise mixing_error(who, names, f"changing state 0 changed its value at state {j}")


def _equal(a: Tensor, b: Tensor) -> Tensor:
    tol = 64 * torch.finfo(a.dtype).eps * (a.abs() + b.abs())
    return ((a - b).abs() <= tol) | (torch.isnan(a) & torch.isnan(b)) | (a == b)


def _same(a: Tensor, b: Tensor) -> bool:
    return a.shape == b.shape and bool(_equal(a, b).all())


def _size(x: Tensor) -> Tensor:
    """Largest finite ``|x|`` per row, shape (m,)."""
    return torch.nan_to_num(x.abs(), 0.0, 0.0, 0.0).amax(1)


def check_agreement(
    eager: Sequence[Tensor],
    reference: Sequence[Tensor],
    labels: Sequence[str],
    who: str,
    names: tuple[str, str],
) -> None:
    """Raise :func:`mixing_error` when batched and per-sample derivatives disagree.

    Parameters
    ----------
    eager, reference : sequences of Tensor, each of shape (m, ...)
        The same quantities at the same ``m`` states, from the whole batch and
        state by state.
    labels : sequence of str
        Names of the quantities for the message.

    Notes
    -----
    The tolerance is ``sqrt(eps)`` of the dtype relative to the size of each
    quantity (plus ``1e-6`` of the largest quantity, for ones that vanish):
    far above the round-off of two evaluation orders, far below the
    difference that mixing a batch of states makes. Non-finite entries must
    sit at the same places.
    """
    m = reference[0].shape[0]
    if m == 0:
        return
    flat_e = [e.detach().reshape(m, -1) for e in eager]
    flat_r = [r.detach().reshape(m, -1) for r in reference]
    sizes = [_size(e) + _size(r) for e, r in zip(flat_e, flat_r, strict=True)]
    floor = 1e-6 * torch.stack(sizes).amax(0)
    rtol = torch.finfo(reference[0].dtype).eps ** 0.5
    for label, e, r, size in zip(labels, flat_e, flat_r, sizes, strict=True):
        fe, fr = torch.isfinite(e), torch.isfinite(r)
        err = torch.where(fe & fr, (e - r).abs(), 0.0).amax(1)
        rel = err / (size + floor).clamp_min(torch.finfo(e.dtype).tiny)
        bad = (rel > rtol) | (fe != fr).any(1)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            raise mixing_error(
                who,
                names,
                f"its derivatives computed on the whole batch differ from those of each state "
                f"alone: {label} at state {i}, relative difference {float(rel[i]):.2e}",
            )


def explain_failure(
    err: RuntimeError,
    fn: Callable,
    source: Callable,
    q: Tensor,
    v: Tensor,
    t: Tensor,
    who: str,
    names: tuple[str, str],
    hint: str,
) -> Exception:
    """The error to raise when the per-sample ``torch.func`` reference failed with ``err``.

    ``fn`` is the time-normalised function (``fn(q, v, t)``), ``source`` the
    user's. A function that mixes the samples (a batch norm in training mode
    writes its running statistics, which ``torch.func`` refuses) gets
    :func:`mixing_error`; a dtype mismatch or a write into an input gets
    :func:`symnet.mechanics._guard.evaluation_error`; anything else says that
    ``torch.func`` could not differentiate ``fn``, with ``hint``.
    """
    msg = str(err)
    if not any(cause in msg for cause in _FUNCTORCH_CAUSES):
        try:
            check_independent(fn, q, v, t, who, names)
        except ValueError as mixing:
            return mixing
    better = evaluation_error(err, source, q.dtype, who)
    if better is not err:
        return better
    return RuntimeError(f"differentiating {who} with torch.func failed: {err}. {hint}")
