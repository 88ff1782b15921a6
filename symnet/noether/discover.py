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
C. Liu and M. Tegmark, "Machine learning hidden symmetries", Phys. Rev. Lett.
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

from symnet._util import cast_callable, check_tensor, format_shape, with_time
from symnet.groups import Generator
from symnet.noether._discover_affine import Layout, affine_columns, name_rows
from symnet.noether._discover_algebra import poisson_algebra, vector_field_algebra
from symnet.noether._discover_hamiltonian import bracket_terms, build_basis
from symnet.noether._discover_hamiltonian_names import name_charges
from symnet.noether._discover_linalg import noise_level, rref, spectrum
from symnet.noether._discover_result import ChargeDiscovery, SymmetryDiscovery
from symnet.noether._quantities import gradients, lagrangian_charge_values

__all__ = ["discover", "discover_hamiltonian"]

LAGRANGIAN_FAMILIES = ("affine",)
_ALGEBRA_STATES = 64


def _states(q: Any, v: Any, names: tuple[str, str], dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    check_tensor(q, names[0], ndim_min=2)
    check_tensor(v, names[1], ndim_min=2)
    if q.shape != v.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q.shape)} and {format_shape(v.shape)}"
        )
    if q.dim() not in (2, 3):
        raise ValueError(
            f"{names[0]} must have shape (B, N, d) (particles) or (B, n) (generalized "
            f"coordinates), got {format_shape(q.shape)}"
        )
    return q.detach().to(dtype).clone(), v.detach().to(dtype).clone()


def _time(t: Any, B: int, dtype: torch.dtype) -> Tensor:
    if t is None:
        return torch.zeros(B, dtype=dtype)
    t = torch.as_tensor(t, dtype=dtype)
    if t.dim() == 0:
        return t.expand(B).clone()
    if t.shape != (B,):
        raise ValueError(f"t must be a scalar or have shape ({B},), got {format_shape(t.shape)}")
    check_tensor(t, "t")
    return t


def _check_options(threshold: float | None, max_relative: float, min_gap: float) -> None:
    if threshold is not None and not (0 < threshold < 1):
        raise ValueError(f"threshold must lie in (0, 1) (relative to sigma_max), got {threshold}")
    if not 0 < max_relative < 1:
        raise ValueError(f"max_relative must lie in (0, 1), got {max_relative}")
    if not min_gap >= 1:
        raise ValueError(f"min_gap must be >= 1, got {min_gap}")


def _rms_norm(x: Tensor) -> float:
    """Root mean square of the per-particle (last axis) Euclidean norms, or 1 if zero."""
    val = float(x.pow(2).sum(-1).mean().sqrt())
    return val if val > 0 and math.isfinite(val) else 1.0


def _normalize_rows(M: Tensor, T: Tensor, m: int) -> Tensor:
    r = T.norm(dim=1)
    keep = r > 0
    if int(keep.sum()) < m:
        raise ValueError(
            f"only {int(keep.sum())} sample states carry information (the others have zero "
            f"gradients), fewer than the {m} candidate coefficients: pass more, generic states"
        )
    return M[keep] / r[keep, None]


def _parse_lagrangian_candidates(candidates: Any) -> tuple[bool, list[Generator]]:
    items = [candidates] if isinstance(candidates, (str, Generator)) or callable(candidates) else (
        list(candidates) if isinstance(candidates, Sequence) else None
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
        Fixed relative cut on the singular values; default: the largest gap
        in ``log sigma``.
    time : bool
        Include a time shift (``tau = 1``) among the candidates.
    max_relative : float
        Largest relative singular value an automatic cut may accept as a symmetry.
    min_gap : float
        Smallest gap an automatic cut accepts.
    dtype : torch.dtype
        Evaluation dtype (float64 by default).

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
        Bad shapes, NaN/inf states, unknown candidate names, too few states,
        ``L`` returning a shape other than ``(B,)``.
    TypeError
        ``L`` not callable or not differentiable with ``torch.func``.

    Notes
    -----
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
    >>> found.names
    ['rotation_x', 'rotation_y', 'rotation_z', 'time', 'translation_x', 'translation_y', 'translation_z']
    >>> found.gap > 1e6
    True
    """
    if not callable(L):
        raise TypeError(f"L must be callable, got {type(L).__name__}")
    _check_options(threshold, max_relative, min_gap)
    q, v = _states(q, qdot, ("q", "qdot"), dtype)
    B, S = q.shape[0], tuple(q.shape[1:])
    tt = _time(t, B, dtype)
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
    grads = gradients(Lc, q, v, tt, "L")
    cols, terms, scales = [], [], []
    for gen in customs:
        cv = lagrangian_charge_values(grads, gen, q, v, tt)
        cols.append(cv.rate[:, None])
        terms.append(cv.rate_scale[:, None])
        scales.append(1.0)
    q3, v3 = q.reshape(B, -1, S[-1]), v.reshape(B, -1, S[-1])
    ell = _rms_norm(q3)
    T_unit = ell / _rms_norm(v3) if float(v3.abs().max()) > 0 else 1.0
    if time:
        cols.append(grads.dt[:, None])
        terms.append(grads.dt.abs()[:, None])
        scales.append(T_unit)
    if affine:
        g3, p3 = grads.dq.reshape(q3.shape), grads.dv.reshape(q3.shape)
        MA, TA, Mb, Tb = affine_columns(layout, g3, p3, q3, v3)
        cols += [MA, Mb]
        terms += [TA, Tb]
        scales += [1.0] * MA.shape[1] + [ell] * Mb.shape[1]
    s = torch.tensor(scales, dtype=dtype)
    M = torch.cat(cols, dim=1).detach() * s
    T = torch.cat(terms, dim=1).detach() * s
    Mn = _normalize_rows(M, T, m)
    spec = spectrum(Mn, threshold=threshold, max_relative=max_relative, min_gap=min_gap)
    noise = noise_level(spec.gap)
    rows = rref(spec.null_basis, layout.order(), tol=min(max(10 * noise, 1e-8), 0.3))
    if rows.shape[0]:
        big = rows.abs().amax(dim=1, keepdim=True)
        rows = torch.where(rows.abs() <= min(10 * noise, 1e-6) * big, 0.0, rows)
    named = name_rows(
        layout, rows * s, customs, ell, T_unit, tol=min(max(10 * noise, 1e-6), 0.2)
    )
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
    algebra = vector_field_algebra(gens, q[:_ALGEBRA_STATES])
    parts = (["affine" + (" (particlewise)" if particlewise else "")] if affine else []) + [
        g.name for g in customs
    ]
    desc = ", ".join(parts) + (" + time" if time else "") + f" ({m} coefficients)"
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


def discover_hamiltonian(
    H: Callable,
    q: Tensor,
    p: Tensor,
    candidates: str | Sequence[str | Callable | tuple[str, Callable]] = ("affine", "quadratic"),
    *,
    t: Tensor | float | None = None,
    threshold: float | None = None,
    max_relative: float = 0.05,
    min_gap: float = 10.0,
    dtype: torch.dtype = torch.float64,
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
        As in :func:`discover`.

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
        Bad shapes, NaN/inf states, unknown family names, too few states.

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
    _check_options(threshold, max_relative, min_gap)
    q, p = _states(q, p, ("q", "p"), dtype)
    B, S = q.shape[0], tuple(q.shape[1:])
    tt = _time(t, B, dtype)
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
    grads = gradients(Hc, q, p, tt, "H")
    F, a, b = bracket_terms(basis.fn, q, p, grads.dq, grads.dv)
    F, a, b = F.detach(), a.detach(), b.detach()
    if not bool(torch.isfinite(F).all()):
        raise ValueError("candidate functions are not finite at some sample states (q = 0?)")
    rms = F.pow(2).mean(0).sqrt()
    s = torch.where(rms > 0, 1.0 / rms.clamp_min(1e-300), 0.0)
    M, T, Fs = (a - b) * s, (a.abs() + b.abs()) * s, F * s
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

    def H0(q_: Tensor, p_: Tensor) -> Tensor:
        return Ht(q_, p_, torch.zeros(q_.shape[0], dtype=q_.dtype))

    charges = name_charges(
        spec=spec,
        U=U[:, :rank],
        W=W,
        s=s,
        basis=basis,
        q=q[keep],
        p=p[keep],
        H=H0,
        Mw=Mn @ W,
        noise=noise_level(spec.gap),
        grads=(grads.dq[keep], grads.dv[keep]),
    )
    sub = slice(0, _ALGEBRA_STATES)
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
