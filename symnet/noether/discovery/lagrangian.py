"""Discovering symmetries: the nullspace of the Lie derivative over candidate generators.

For candidates ``X = sum_k c_k X_k`` (affine maps ``xi(q) = A q + b`` on
every particle, a time shift, custom vector fields) the Lie derivative of a
Lagrangian,

    R = dL/dq . xi + dL/dqdot . (D xi qdot) + tau dL/dt  (- dF/dt for custom quasi-symmetries),

is linear in ``c``. One ``vjp`` of ``L`` at a batch of sample states gives
``dL/dq``, ``dL/dqdot`` and ``dL/dt``; contracting them with the candidates
gives the matrix ``M[state, k]``. Each row is divided by the size of its terms
(scale-free, per state), each column is measured in natural units (``A``
dimensionless, ``b`` in units of the typical ``|q|``, ``tau`` in units of
``|q| / |qdot|``), and the numerical nullspace of the stacked matrix, cut at
the largest gap of the log singular values, spans the symmetries. Its basis
is made canonical (translations split from the rest, so(d) in its standard
basis) and named. In Hamiltonian form the same is done for charges
``Q = sum_k c_k f_k(q, p)`` with ``{Q, H}`` in place of ``R``: this also finds
hidden (non-point) symmetries such as the Runge-Lenz vector.

References
----------
Z. Liu and M. Tegmark, "Machine learning hidden symmetries", Phys. Rev. Lett.
128, 180201 (2022), arXiv:2109.09721.
A. Moskalev, A. Sepliarskaia, I. Sosnovik, A. Smeulders, "LieGG: Studying
learned Lie group generators", NeurIPS (2022), arXiv:2210.04345.
P. J. Olver, *Applications of Lie Groups to Differential Equations*, 1993, ch. 4-5.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from symnet._probe import check_autodiff
from symnet._util import cast_callable
from symnet.groups import Generator
from symnet.noether._options import bool_option
from symnet.noether._quantities import StateGradients, lagrangian_charge_values
from symnet.noether.discovery.algebra import vector_field_algebra
from symnet.noether.discovery.candidates import Layout, affine_columns, field_matrix
from symnet.noether.discovery.inputs import (
    ALGEBRA_STATES,
    check_dtype,
    check_options,
    flag,
    rms_norm,
    states,
    times,
)
from symnet.noether.discovery.linalg import noise_level, rref, spectrum
from symnet.noether.discovery.naming import name_rows
from symnet.noether.discovery.result import SymmetryDiscovery
from symnet.noether.discovery.sharding import part_gradients, sharded_rows
from symnet.noether.discovery.verify import verify_generators

__all__ = ["discover"]

LAGRANGIAN_FAMILIES = ("affine",)


def _normalize_rows(M: Tensor, T: Tensor, m: int) -> Tensor:
    r = T.norm(dim=1)
    keep = r > 0
    if int(keep.sum()) < m:
        raise ValueError(
            f"only {int(keep.sum())} sample states carry information (the others have zero "
            f"gradients), fewer than the {m} candidate coefficients: pass more, generic states"
        )
    return M[keep] / r[keep, None]


def _canonical_rows(null: Tensor, trivial: Tensor, order: list[int], noise: float) -> Tensor:
    """RREF rows spanning ``null`` modulo ``trivial`` (combinations with a vanishing field).

    The reduced row echelon form of ``null`` and ``trivial`` together, in
    pivot ``order``; rows are kept greedily when independent of the kept
    ones and ``trivial``, so that a custom field repeating an affine one is
    reported once, under the name that comes first in ``order``.
    """
    tol = min(max(10 * noise, 1e-8), 0.3)
    if trivial.shape[0] == 0 or null.shape[0] == 0:
        return rref(null, order, tol=tol)
    rows = rref(torch.cat([null, trivial]), order, tol=tol)
    kept: list[Tensor] = []
    for row in rows:
        basis = torch.cat([trivial, *(r[None] for r in kept)])
        Qb = torch.linalg.qr(basis.T).Q
        if float((row - Qb @ (Qb.T @ row)).norm()) > 1e-6 * float(row.norm()):
            kept.append(row)
        if len(kept) == null.shape[0]:
            break
    return torch.stack(kept) if kept else null[:0]


def _parse_lagrangian_candidates(candidates: Any) -> tuple[bool, list[Generator]]:
    items = (
        [candidates]
        if isinstance(candidates, (str, Generator)) or callable(candidates)
        else (list(candidates) if isinstance(candidates, Sequence) else None)
    )
    if not items:
        raise ValueError(
            "candidates must be 'affine', or a list of 'affine', Generators and vector fields "
            f"xi(q) / xi(q, t); got {candidates!r}"
        )
    affine, customs = False, []
    for k, item in enumerate(items):
        if isinstance(item, str):
            if item not in LAGRANGIAN_FAMILIES:
                raise ValueError(
                    f"unknown candidates {item!r}; expected one of {', '.join(LAGRANGIAN_FAMILIES)}"
                    " or Generators / vector fields xi(q)"
                )
            affine = True
        elif isinstance(item, Generator):
            customs.append(item)
        elif callable(item):
            name = getattr(item, "__name__", "")
            customs.append(Generator(name if name and name != "<lambda>" else f"xi_{k}", item))
        else:
            raise TypeError(f"candidate {k} must be a string, Generator or callable, got {item!r}")
    names = [g.name for g in customs]
    if len(set(names)) != len(names):
        raise ValueError(f"custom candidates need distinct names, got {names}")
    return affine, customs


def _probe_fields(customs: list[Generator], q: Tensor, v: Tensor, t: Tensor) -> None:
    """The autodiff probe on custom candidates: ``xi`` (and ``F``), projected to scalars."""
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(q.shape[1:], generator=gen, dtype=q.dtype).to(q.device)
    for g in customs:

        def field(a: Tensor, b: Tensor, s: Tensor, g: Generator = g) -> Tensor:
            return (g.xi(a, s) * w).reshape(a.shape[0], -1).sum(1)

        check_autodiff(field, q, v, t, name=f"candidate {g.name!r}", arg_names=("q", "qdot"))
        if g.has_boundary:

            def boundary(a: Tensor, b: Tensor, s: Tensor, g: Generator = g) -> Tensor:
                return g.boundary(a, s)

            name = f"the boundary term of candidate {g.name!r}"
            check_autodiff(boundary, q, v, t, name=name, arg_names=("q", "qdot"))


def _rows(
    grads: StateGradients | None,
    layout: Layout,
    customs: list[Generator],
    q: Tensor,
    v: Tensor,
    t: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:
    """Unscaled rows of the states ``q``, ``v`` (shape ``(b, *S)``; ``b`` may be 0).

    ``grads`` are ``L``'s gradients there (None when ``b = 0``). Returns ``M``
    and ``T`` (the Lie derivative along each unit candidate and the sum of the
    absolute values of its terms), shape ``(b, m)``, and the prolonged fields
    of the candidates, shape ``(b, 2 n + 2, m)`` with ``n = prod(S)``.
    """
    b, m = q.shape[0], layout.size
    if grads is None:
        n = math.prod(q.shape[1:])
        return q.new_zeros(0, m), q.new_zeros(0, m), q.new_zeros(0, 2 * n + 2, m)
    cols, terms = [], []
    for gen in customs:
        cv = lagrangian_charge_values(grads, gen, q, v, t)
        cols.append(cv.rate[:, None])
        terms.append(cv.rate_scale[:, None])
    if layout.time:
        cols.append(grads.dt[:, None])
        terms.append(grads.dt.abs()[:, None])
    if layout.affine:
        q3, v3 = q.reshape(b, -1, layout.d), v.reshape(b, -1, layout.d)
        g3, p3 = grads.dq.reshape(q3.shape), grads.dv.reshape(q3.shape)
        MA, TA, Mb, Tb = affine_columns(layout, g3, p3, q3, v3)
        cols += [MA, Mb]
        terms += [TA, Tb]
    G = field_matrix(layout, customs, q, v, t).reshape(b, -1, m)
    return torch.cat(cols, dim=1).detach(), torch.cat(terms, dim=1).detach(), G.detach()


def discover(
    L: Callable,
    q: Tensor,
    qdot: Tensor,
    candidates: str | Sequence[str | Generator | Callable] = "affine",
    *,
    t: Tensor | float | None = None,
    particlewise: bool = False,
    threshold: float | None = None,
    time: bool = True,
    max_relative: float = 0.05,
    min_gap: float = 10.0,
    dtype: torch.dtype = torch.float64,
    distributed: bool = True,
) -> SymmetryDiscovery:
    """Find the generators that leave ``L`` invariant, from sample states.

    Parameters
    ----------
    L : callable or nn.Module
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)``;
        evaluated in ``dtype`` (a module is copied and cast).
    q, qdot : Tensor
        Sample states, shape ``(B, N, d)`` (particles) or ``(B, n)``
        (generalized coordinates). ``B`` must be at least the number of
        candidate coefficients ``m`` (``d*d + d`` + 1 for the affine family
        with time); a few times ``m`` is better.
    candidates : str or list
        ``"affine"``: ``xi(q) = A q + b`` acting alike on every particle
        (``A`` in gl(d), ``b`` in R^d); or a list of ``"affine"``,
        :class:`~symnet.groups.Generator` objects (boundary terms included:
        quasi-symmetries) and vector fields ``xi(q)`` / ``xi(q, t)``
        returning the shape of ``q``. The Lie derivative is linear in the
        coefficients of any such list.
    t : Tensor or float, optional
        Time of the samples, shape ``(B,)`` or scalar; default 0.
    particlewise : bool
        One ``(A, b)`` per particle (distinguishable particles) instead of
        one for all.
    threshold : float, optional
        Fixed cut on the relative singular values ``sigma / sigma_max``;
        default: automatic (see Notes).
    time : bool
        Include a time shift (``tau = 1``) among the candidates.
    max_relative : float
        Largest relative singular value an automatic cut may accept as a symmetry.
    min_gap : float
        Smallest gap an automatic cut accepts.
    dtype : torch.dtype
        Evaluation dtype (float64 by default).
    distributed : bool
        When a ``torch.distributed`` process group of several processes is
        initialised (e.g. under ``torchrun``), every rank evaluates the
        gradients of ``L`` and the candidate fields at its own share of the
        states and the rows are gathered in batch order, so that every rank
        takes the single-process SVD and returns the single-process result
        (each rank must then call ``discover`` with the same arguments and
        states). False: each rank does the whole batch on its own.

    Returns
    -------
    SymmetryDiscovery
        A list of named :class:`~symnet.groups.Generator` (``translation_x``,
        ``rotation_z``, ``rotation_about[...]``, ``screw(...)``,
        ``dilation``, ``time``, ``shift[1,1]``, ``symmetry_k``) with
        ``singular_values``, ``gap``, ``threshold``, ``relative`` (per
        generator), ``algebra``, a report (``str``) and ``check(...)``.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf states or times, unknown candidate names, too few
        states, ``L`` returning a shape other than ``(B,)``, an option out of
        range or not finite, ``distributed`` not True or False. Under a
        process group, an error on one rank is raised on every rank.
    GradientMismatchError
        (a ``ValueError``) ``L``'s autodiff gradient (or a custom
        candidate's) misses part of its dependence on ``q`` or ``qdot``
        (computed under ``torch.no_grad()``, on ``q.detach()``, ...), or
        finite differences of ``L``'s values refute a found generator.
    TypeError
        ``L`` not callable or not differentiable with ``torch.func``; an
        option of the wrong type (a bool where a number is expected, a
        non-bool ``time`` or ``particlewise``, a ``dtype`` other than
        float32/float64).

    Notes
    -----
    Rows of ``M`` are divided by the norm of the absolute values of their
    terms, so a singular value is the root mean square over the states of a
    relative Lie derivative (``1e-16`` for an exact symmetry in float64).
    The automatic cut lies at a gap of at least ``min_gap`` in ``log sigma``
    with everything below it under ``max_relative``. On an exact model that
    is the largest gap (exact symmetries at round-off, ``gap`` about 1e13 or
    more); on a learned model several cuts may qualify (exact symmetries such
    as time when the model ignores ``t``, approximate ones well separated
    from the rest), and the highest is used so that the approximate ones are
    reported too, each with its own relative singular value
    (:attr:`SymmetryDiscovery.relative`).

    Every finding is verified from ``L``'s values alone: the central
    difference of ``L`` along the generator (minus the boundary rate) must be
    small relative to ``L``'s variation along random directions, unless
    autodiff also says it is not small (an approximate symmetry). A finding
    that the values refute is an error, not a silent drop: autodiff and the
    values of ``L`` disagree, and the other findings rest on the same
    gradients.

    The nullspace basis is made canonical by a reduced row echelon form that
    pivots on custom, so(d), time, dilation, symmetric and translation
    coordinates: translations come out separated and along the axes when
    all are symmetries, rotations in the standard so(d) basis.

    Only exact invariance counts: a quasi-symmetry (``delta L = dF/dt``,
    e.g. a rotation about the field axis of a charge in a magnetic field in
    the Landau gauge, or a Galilean boost) is not found by the affine
    family, which has no boundary terms; pass it as a custom Generator with
    its boundary term to test it.

    Examples
    --------
    >>> import torch
    >>> from symnet.noether import discover
    >>> from symnet.systems import TwoBodySpring
    >>> sys = TwoBodySpring()
    >>> q, v = sys.sample_states(64, torch.Generator().manual_seed(0))
    >>> found = discover(sys.lagrangian, q, v)
    >>> found.names[:3]
    ['translation_x', 'translation_y', 'translation_z']
    >>> found.names[3:]
    ['rotation_x', 'rotation_y', 'rotation_z', 'time']
    >>> found.gap > 1e6
    True
    """
    if not callable(L):
        raise TypeError(f"L must be callable, got {type(L).__name__}")
    check_options(threshold, max_relative, min_gap)
    particlewise, time = flag(particlewise, "particlewise"), flag(time, "time")
    dtype = check_dtype(dtype)
    distributed = bool_option(distributed, "distributed")
    q, v = states(q, qdot, ("q", "qdot"), dtype)
    B, S = q.shape[0], tuple(q.shape[1:])
    tt = times(t, B, dtype, q.device)
    affine, customs = _parse_lagrangian_candidates(candidates)
    if particlewise and not (affine and len(S) == 2):
        raise ValueError("particlewise=True needs the 'affine' family and q of shape (B, N, d)")
    layout = Layout(S, len(customs), bool(time), affine, bool(particlewise))
    m = layout.size
    if B < m:
        raise ValueError(
            f"{m} candidate coefficients need at least {m} sample states (a few times more is "
            f"better); got B={B}"
        )
    Lc = cast_callable(L, dtype)
    q3, v3 = q.reshape(B, -1, S[-1]), v.reshape(B, -1, S[-1])
    ell = rms_norm(q3)  # statistics of the whole batch, the same on every rank
    T_unit = ell / rms_norm(v3) if float(v3.abs().max()) > 0 else 1.0

    def work(part: slice) -> tuple[Tensor, Tensor, Tensor]:
        qp, vp, tp = q[part], v[part], tt[part]
        # a rank without states does not call L on an empty batch
        grads = part_gradients(Lc, qp, vp, tp, "L", part.start) if qp.shape[0] else None
        check_autodiff(Lc, q, v, tt, name="L", arg_names=("q", "qdot"))  # on the first states
        _probe_fields(customs, q, v, tt)
        return _rows(grads, layout, customs, qp, vp, tp)

    M, T, G = sharded_rows(work, B, distributed)
    scales = [1.0] * len(customs) + ([T_unit] if time else [])
    if affine:
        scales += [1.0] * (layout.b_start - layout.a_start) + [ell] * (layout.size - layout.b_start)
    s = torch.tensor(scales, dtype=dtype, device=q.device)
    M, T = M * s, T * s
    # candidates whose combined (prolonged) field vanishes on the samples are no symmetry
    G = G.reshape(-1, m) * s
    _, sg, Vg = torch.linalg.svd(G, full_matrices=False)
    rank = int((sg > 1e-10 * float(sg[0])).sum()) if float(sg[0]) > 0 else 0
    if rank == 0:
        raise ValueError("every candidate field vanishes at the sample states")
    Mn = _normalize_rows(M, T, m)
    Q = Vg[:rank].T  # (m, rank): orthonormal basis of the nontrivial coefficients
    spec = spectrum(Mn @ Q, threshold=threshold, max_relative=max_relative, min_gap=min_gap)
    noise = noise_level(spec.gap)
    rows = _canonical_rows(spec.null_basis @ Q.T, Vg[rank:], layout.order(), noise)
    if rows.shape[0]:
        big = rows.abs().amax(dim=1, keepdim=True)
        rows = torch.where(rows.abs() <= min(10 * noise, 1e-6) * big, 0.0, rows)
    named = name_rows(layout, rows * s, customs, ell, T_unit, tol=min(max(10 * noise, 1e-6), 0.2))
    top = float(spec.singular_values[0]) if float(spec.singular_values[0]) > 0 else 1.0
    relative, deviation, coefficients, gens = {}, {}, {}, []
    for item in named:
        c = item.coefficients / s
        rel = float((Mn @ c).norm()) / (math.sqrt(Mn.shape[0]) * float(c.norm()) * top)
        gen = item.generator
        relative[gen.name] = rel
        deviation[gen.name] = item.deviation
        coefficients[gen.name] = item.coefficients
        gens.append(gen)
    verify_generators(Lc, gens, q, v, tt, name="L")
    algebra = vector_field_algebra(gens, q[:ALGEBRA_STATES])
    parts = (["affine" + (" (particlewise)" if particlewise else "")] if affine else []) + [
        g.name for g in customs
    ]
    desc = ", ".join(parts) + (" + time" if time else "") + f" ({m} coefficients"
    desc += f", rank {rank})" if rank < m else ")"
    return SymmetryDiscovery(
        gens,
        L=L,
        relative=relative,
        deviation=deviation,
        coefficients=coefficients,
        singular_values=spec.singular_values,
        relative_singular_values=spec.relative,
        threshold=spec.threshold,
        gap=spec.gap,
        algebra=algebra,
        candidates=desc,
        n_states=Mn.shape[0],
    )
