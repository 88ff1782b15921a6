"""Discovering conserved charges of a Hamiltonian: :func:`discover_hamiltonian`.

A charge ``Q = sum_k c_k f_k(q, p)`` over candidate functions is conserved iff
``{Q, H} = 0``: linear in ``c``. One ``vjp`` of ``H`` gives ``dH/dq`` and
``dH/dp``; two forward derivatives of all candidate functions give every
column of the bracket matrix. Candidates are scaled to unit root mean square
and whitened (linear dependencies among them, such as the point charges
inside the quadratic monomials, are removed), rows are normalized by the size
of their terms, and the numerical nullspace is cut as in
:func:`symnet.noether.discover`. See
:mod:`symnet.noether.discovery.phase_space` for the families and
:mod:`symnet.noether.discovery.charge_naming` for the names.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from symnet._probe import check_autodiff
from symnet._util import cast_callable, with_time
from symnet.noether._options import bool_option
from symnet.noether.discovery.algebra import poisson_algebra
from symnet.noether.discovery.charge_naming import name_charges
from symnet.noether.discovery.inputs import (
    ALGEBRA_STATES,
    check_dtype,
    check_options,
    states,
    times,
)
from symnet.noether.discovery.linalg import noise_level, spectrum
from symnet.noether.discovery.phase_space import bracket_terms, build_basis
from symnet.noether.discovery.result import ChargeDiscovery
from symnet.noether.discovery.sharding import part_gradients, sharded_rows
from symnet.noether.discovery.verify import verify_charges

__all__ = ["discover_hamiltonian"]


def _custom_item(item: object, k: int) -> tuple[str, Callable]:
    """``(name, f)`` of a custom candidate: a callable or a ``(name, callable)`` pair."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        return item[0], item[1]
    name = getattr(item, "__name__", f"f{k}")
    return (f"f{k}" if name == "<lambda>" else name), item  # type: ignore[return-value]


def discover_hamiltonian(
    H: Callable,
    q: Tensor,
    p: Tensor,
    candidates: str | Sequence[str | Callable | tuple[str, Callable]] = ("affine", "quadratic"),
    *,
    t: Tensor | float | None = None,
    threshold: float | None = None,
    max_relative: float = 1e-3,
    min_gap: float = 10.0,
    dtype: torch.dtype = torch.float64,
    distributed: bool = True,
) -> ChargeDiscovery:
    """Find conserved charges ``Q(q, p)`` of ``H``: the nullspace of ``c -> {sum c_k f_k, H}``.

    Parameters
    ----------
    H : callable or nn.Module
        ``H(q, p)`` or ``H(q, p, t)`` returning shape ``(B,)``.
    q, p : Tensor
        Sample states, shape ``(B, N, d)`` or ``(B, n)``; ``B`` at least the
        number ``K`` of candidate functions (a few times more is better).
    candidates : str or sequence
        Families (``"affine"``: point-symmetry charges ``p . (A q + b)``;
        ``"linear"``, ``"quadratic"``, ``"cubic"``: monomials of ``(q, p)``;
        ``"radial"``: ``q_i / |q_i|``) and custom functions ``f(q, p) ->
        (B,)`` or ``(name, f)`` pairs. Linear dependencies among them are
        removed. The Runge-Lenz vector of Kepler needs ``"cubic"`` and
        ``"radial"``; the Fradkin tensor of the oscillator ``"quadratic"``.
    t : Tensor or float, optional
        Time of the samples (for ``H(q, p, t)``); charges are time-independent.
    threshold, max_relative, min_gap, dtype
        As in :func:`discover`. The default ``max_relative`` is stricter
        than there: large families hold functions that are nearly conserved
        on the sampled region (Kepler with ``"cubic"`` and ``"radial"`` on
        its near-circular sample orbits: a relative singular value of about
        1.3e-2, the next 8e-2), which must not pass as approximate charges.
    distributed : bool
        When a ``torch.distributed`` process group of several processes is
        initialised, every rank evaluates the gradients of ``H`` and the
        candidate brackets at its own share of the states and the rows are
        gathered in batch order: every rank returns the single-process
        result (all ranks must call with the same arguments and states).
        False: each rank does the whole batch on its own.

    Returns
    -------
    ChargeDiscovery
        A list of named :class:`Charge` callables (``P_x``, ``L_z``,
        ``runge_lenz_x``, ``fradkin_xy``, ``H``, ``charge_k``) with the
        spectrum, the Poisson algebra, a report (``str``) and ``check(...)``
        (rollouts, drift, balance law, verdicts).

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf states or times, unknown family names, too few
        states, an option out of range or not finite, ``distributed`` not
        True or False. Under a process group, an error on one rank is raised
        on every rank.
    GradientMismatchError
        (a ``ValueError``) the autodiff gradient of ``H`` or of a custom
        candidate misses part of its dependence on ``q`` or ``p``, or finite
        differences of the values of ``H`` or of a found charge refute that
        the charge is conserved.
    TypeError
        ``H`` not callable or not differentiable; an option of the wrong type.

    Examples
    --------
    >>> import torch
    >>> from symnet.noether import discover_hamiltonian
    >>> from symnet.systems import IsotropicOscillator
    >>> sys = IsotropicOscillator()
    >>> q, v = sys.sample_states(200, torch.Generator().manual_seed(0))
    >>> found = discover_hamiltonian(sys.hamiltonian, q, sys.momentum(q, v))
    >>> found.names
    ['L', 'fradkin_xx', 'fradkin_xy', 'fradkin_yy']
    """
    if not callable(H):
        raise TypeError(f"H must be callable, got {type(H).__name__}")
    check_options(threshold, max_relative, min_gap)
    dtype = check_dtype(dtype)
    distributed = bool_option(distributed, "distributed")
    q, p = states(q, p, ("q", "p"), dtype)
    B, S = q.shape[0], tuple(q.shape[1:])
    tt = times(t, B, dtype, q.device)
    items = [candidates] if isinstance(candidates, str) or callable(candidates) else candidates
    if not isinstance(items, Sequence) or not items:
        raise ValueError(f"candidates must name at least one family, got {candidates!r}")
    basis = build_basis(list(items), S)
    K = basis.size
    if B < K:
        raise ValueError(
            f"{K} candidate functions need at least {K} sample states (a few times more is "
            f"better); got B={B}"
        )
    Hc = cast_callable(H, dtype)
    Ht = with_time(Hc, 2)

    def work(part: slice) -> tuple[Tensor, ...]:
        qp, pp, tp = q[part], p[part], tt[part]
        if qp.shape[0]:  # a rank without states does not call H on an empty batch
            grads = part_gradients(Hc, qp, pp, tp, "H", part.start)
            F, a, b = bracket_terms(basis.fn, qp, pp, grads.dq, grads.dv)
            F, a, b, dq, dp = F.detach(), a.detach(), b.detach(), grads.dq, grads.dv
        else:
            F = a = b = q.new_zeros(0, K)
            dq, dp = q.new_zeros(q[:0].shape), p.new_zeros(p[:0].shape)
        check_autodiff(Hc, q, p, tt, name="H", arg_names=("q", "p"))  # on the first states
        for k, item in enumerate(items):
            if not isinstance(item, str):
                label, f = _custom_item(item, k)
                check_autodiff(f, q, p, tt, name=f"candidate {label!r}", arg_names=("q", "p"))
        return F, a - b, a.abs() + b.abs(), dq.detach(), dp.detach()

    F, M0, T0, dHdq, dHdp = sharded_rows(work, B, distributed)
    if not bool(torch.isfinite(F).all()):
        raise ValueError("candidate functions are not finite at some sample states (q = 0?)")
    rms = F.pow(2).mean(0).sqrt()
    s = torch.where(rms > 0, 1.0 / rms.clamp_min(1e-300), 0.0)
    M, T, Fs = M0 * s, T0 * s, F * s
    r = T.norm(dim=1)
    keep = r > 0
    if int(keep.sum()) < K:
        raise ValueError("too few sample states with a nonzero bracket; pass more, generic states")
    Mn, Fk = M[keep] / r[keep, None], Fs[keep]
    n = Fk.shape[0]
    U, sig, Vh = torch.linalg.svd(Fk / math.sqrt(n), full_matrices=False)
    rank = int((sig > 1e-8 * float(sig[0])).sum())
    W = Vh[:rank].T / sig[:rank]  # (K, r): coefficients of unit-rms, orthonormal charges
    spec = spectrum(Mn @ W, threshold=threshold, max_relative=max_relative, min_gap=min_gap)

    def h0(q_: Tensor, p_: Tensor) -> Tensor:
        return Ht(q_, p_, q_.new_zeros(q_.shape[0]))

    charges = name_charges(
        spec=spec,
        U=U[:, :rank],
        W=W,
        s=s,
        basis=basis,
        q=q[keep],
        p=p[keep],
        H=h0,
        Mw=Mn @ W,
        noise=noise_level(spec.gap),
        grads=(dHdq[keep], dHdp[keep]),
    )
    verify_charges(Hc, charges, q, p, tt, name="H")
    sub = slice(0, ALGEBRA_STATES)
    algebra = poisson_algebra([c.name for c in charges], [c.fn for c in charges], q[sub], p[sub])
    names = [x if isinstance(x, str) else getattr(x, "__name__", "custom") for x in items]
    return ChargeDiscovery(
        charges,
        H=H,
        singular_values=spec.singular_values,
        relative_singular_values=spec.relative,
        threshold=spec.threshold,
        gap=spec.gap,
        algebra=algebra,
        candidates=", ".join(map(str, names)) + f" ({K} functions, rank {rank})",
        n_states=n,
    )
