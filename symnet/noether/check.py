"""``check`` and ``check_hamiltonian``: the Noether checker.

For every generator the checker measures (REFERENCES.md sections 1 and 3):

1. the invariance error: the relative Lie derivative ``|R - dF/dt| / scale``
   at the initial states and along the trajectories, and the finite-element
   error ``|L(g x) - L(x)| / max|L|`` for sampled group elements;
2. the charge along trajectories integrated at ``dt`` and ``dt/2``: its
   relative drift ``max_t |Q(t) - Q(0)| / S_Q`` at both steps, and the
   measured order ``log2(drift(dt) / drift(dt/2))``;
3. the balance-law residual ``max_t |Q(t) - Q(0) - integral_0^t rate| / S_Q``
   (composite Simpson quadrature on the ``dt/2`` grid);

and turns them into a verdict (:mod:`symnet.noether.verdict`). Discrete
groups get an invariance residual, a flow-equivariance error and a
fixed-state test (:mod:`symnet.noether.discrete`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from symnet._util import cast_callable, check_tensor, format_shape, with_time
from symnet.groups import Generator, take_element
from symnet.noether._quantities import (
    ChargeValues,
    check_differentiable,
    gradients,
    hamiltonian_charge_values,
    lagrangian_charge_values,
)
from symnet.noether._symmetries import SymmetrySet, expand_symmetries
from symnet.noether.discrete import check_discrete
from symnet.noether.report import NoetherReport, Row
from symnet.noether.verdict import Evidence, Tolerances, decide

__all__ = ["check", "check_hamiltonian", "charge_label"]

_CHUNK = 65536
_LABELS = {"translation": "P", "rotation": "L", "time": "E", "boost": "K"}


def charge_label(gen: Generator) -> str:
    """A short name of the generator's charge: ``P_x``, ``L_z``, ``E``, ``K_x``, ``J[name]``."""
    family = gen.group.name if gen.group is not None else None
    if family in _LABELS:
        prefix = _LABELS[family]
        suffix = gen.name[len(family) + 1 :] if gen.name.startswith(family + "_") else ""
        if family == "time":
            return "-E"
        return f"{prefix}_{suffix}" if suffix else prefix
    return f"J[{gen.name}]"


def _prepare_state(q0: Any, v0: Any, names: tuple[str, str]) -> tuple[Tensor, Tensor]:
    check_tensor(q0, names[0], ndim_min=2)
    check_tensor(v0, names[1], ndim_min=2)
    if q0.shape != v0.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (B, *S), got "
            f"{format_shape(q0.shape)} and {format_shape(v0.shape)}"
        )
    f64 = torch.float64
    return q0.detach().to(f64).clone(), v0.detach().to(f64).clone()


def _evaluate(
    fn: Callable,
    gens: list[Generator],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    values: Callable[..., ChargeValues],
    name: str,
    rates: bool = True,
) -> list[ChargeValues]:
    """Charges (and, if ``rates``, their rates) of every generator at states ``(T, B, *S)``."""
    T, B = q.shape[:2]
    flat = [x.reshape(T * B, *x.shape[2:]) for x in (q, v)]
    tf = t.reshape(T * B)
    parts: list[list[ChargeValues]] = []
    for start in range(0, T * B, _CHUNK):
        sl = slice(start, start + _CHUNK)
        qs, vs, ts = flat[0][sl], flat[1][sl], tf[sl]
        grads = gradients(fn, qs, vs, ts, name)
        parts.append([values(grads, g, qs, vs, ts, rates) for g in gens])
    out = []
    for k in range(len(gens)):
        fields = [
            torch.cat([getattr(p[k], f).detach() for p in parts]).reshape(T, B)
            for f in ("charge", "charge_scale", "rate", "rate_scale")
        ]
        out.append(ChargeValues(*fields))
    return out


def _drift(cv: ChargeValues) -> tuple[Tensor, Tensor]:
    """Relative drift per trajectory and the scale ``S_Q``, both shape ``(B,)``."""
    Q = cv.charge
    scale = torch.maximum(Q[0].abs(), cv.charge_scale.mean(dim=0)).clamp_min(1e-300)
    return (Q - Q[0]).abs().amax(dim=0) / scale, scale


def _simpson_cumulative(rate: Tensor, h: float) -> Tensor:
    """Cumulative integral of ``rate`` (shape ``(2K+1, B)``) at the even grid points."""
    pieces = h / 3.0 * (rate[0:-2:2] + 4.0 * rate[1:-1:2] + rate[2::2])
    zero = torch.zeros_like(rate[:1])
    return torch.cat([zero, pieces.cumsum(dim=0)])


def _finite_errors(
    fn: Callable,
    gens: list[Generator],
    q: Tensor,
    v: Tensor,
    t: Tensor,
    n: int,
    rng: torch.Generator,
) -> dict[str, float | None]:
    """``max |f(g x) - f(x)| / max |f(x)|`` over ``n`` elements ``exp(s X)`` of each generator.

    Elements of the generator's one-parameter subgroup, ``s ~ N(0, 1)``, acting
    through its group's finite action. ``None`` where that does not apply:
    generators without a group (custom vector fields) and quasi-symmetries,
    which change ``L`` by a total derivative.
    """
    f = with_time(fn, 2)
    S = tuple(q.shape[1:])
    base = f(q, v, t)
    scale = base.abs().max().clamp_min(1e-300)
    out: dict[str, float | None] = {}
    for gen in gens:
        group = gen.group
        if group is None or gen.has_boundary:
            out[gen.name] = None
            continue
        kq, kv = ("point", "vector") if group.dim is not None else ("global", "global")
        s = torch.randn(n, generator=rng, dtype=torch.float64)
        elements = group.exp(gen, s, S)
        worst = 0.0
        for i in range(n):
            g = take_element(elements, i)
            qg, vg = group.act(g, q, kq, t=t), group.act(g, v, kv, t=t)
            err = ((f(qg, vg, group.act(g, t, "time")) - base).abs().max() / scale).item()
            worst = max(worst, err)
        out[gen.name] = worst
    return out


def _run(
    form: str,
    fn: Callable,
    symmetries: Any,
    q0: Tensor,
    v0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str,
    t0: float,
    tolerances: Tolerances | None,
    n_elements: int,
    seed: int,
    progress: bool,
    masses: Any,
    field: Any,
) -> NoetherReport:
    from symnet.mechanics import (
        HamiltonianField,
        VectorField,
        get_integrator,
        hamiltonian_vector_field,
        lagrangian_vector_field,
        rollout,
    )

    names = ("q0", "qdot0") if form == "lagrangian" else ("q0", "p0")
    fname = "L" if form == "lagrangian" else "H"
    if not callable(fn):
        raise TypeError(f"{fname} must be callable, got {type(fn).__name__}")
    if not (isinstance(dt, (int, float)) and 0 < dt < math.inf):
        raise ValueError(f"dt must be a positive finite number, got {dt!r}")
    if not (isinstance(steps, int) and steps >= 2):
        raise ValueError(f"steps must be an int >= 2, got {steps!r}")
    if not (isinstance(t0, (int, float)) and math.isfinite(t0)):
        raise ValueError(f"t0 must be a finite number, got {t0!r}")
    if tolerances is not None and not isinstance(tolerances, Tolerances):
        raise TypeError(
            "tolerances must be a symnet.noether.Tolerances (e.g. Tolerances(drift=1e-8)), "
            f"got {type(tolerances).__name__}"
        )
    order = get_integrator(method).order
    tol = tolerances or Tolerances()
    q, v = _prepare_state(q0, v0, names)
    B, S = q.shape[0], tuple(q.shape[1:])
    sym: SymmetrySet = expand_symmetries(symmetries, S, masses=masses)
    f64 = cast_callable(fn, torch.float64)
    values = lagrangian_charge_values if form == "lagrangian" else hamiltonian_charge_values
    t_init = torch.full((B,), float(t0), dtype=torch.float64)
    # shape and differentiability checks up front
    check_differentiable(f64, gradients(f64, q, v, t_init, fname), q, v, t_init, fname)

    if field is None:
        field = (
            lagrangian_vector_field(f64) if form == "lagrangian" else hamiltonian_vector_field(f64)
        )
    elif form == "hamiltonian" and callable(field) and not isinstance(field, VectorField):
        # a plain callable is Hamilton's equations (q, p, t) -> (qdot, pdot) here, not the
        # acceleration field that rollout takes a plain callable for
        field = HamiltonianField(field)
    # closed on errors too, so that an error message does not land on the bar's line
    with _progress(progress, 4 + len(sym.discrete)) as bar:
        coarse = rollout(field, q, v, dt=dt, steps=steps, method=method, t0=t0)
        bar.update()
        fine = rollout(field, q, v, dt=dt / 2, steps=2 * steps, method=method, t0=t0)
        bar.update()

        gens = sym.generators
        cv_coarse = _evaluate(f64, gens, coarse.q, coarse.v, coarse.t, values, fname, rates=False)
        cv_fine = _evaluate(f64, gens, fine.q, fine.v, fine.t, values, fname)
        bar.update()
        gen_rng = torch.Generator().manual_seed(seed)
        finite = _finite_errors(f64, sym.generators, q, v, t_init, n_elements, gen_rng)
        bar.update()

        rows: list[Row] = []
        charges: dict[str, Tensor] = {}
        for gen, cc, cf in zip(gens, cv_coarse, cv_fine, strict=True):
            drift_c, _ = _drift(cc)
            drift_f, scale = _drift(cf)
            integral = _simpson_cumulative(cf.rate, dt / 2)
            change = cf.charge[::2] - cf.charge[0]
            balance = ((change - integral).abs().amax(dim=0) / scale).max().item()
            inv = cf.invariance_error.max().item()  # the dt/2 grid holds every state checked
            fin = finite[gen.name]
            ev = Evidence(inv, fin, drift_c.max().item(), drift_f.max().item(), balance, order)
            verdict, reason = decide(ev, tol)
            rows.append(
                Row(
                    group=repr(gen.group) if gen.group is not None else None,
                    generator=gen.name,
                    charge=charge_label(gen),
                    invariance_error=inv,
                    finite_error=fin,
                    drift=ev.drift,
                    drift_half=ev.drift_half,
                    measured_order=ev.measured_order,
                    order=order,
                    balance_residual=balance,
                    verdict=verdict,
                    reason=reason,
                )
            )
            charges[gen.name] = cc.charge
        for group in sym.discrete:
            rows.append(
                check_discrete(f64, field, group, q, v, t0, dt, steps, method, tol, gen_rng)
            )
            bar.update()
    return NoetherReport(
        rows=rows,
        charges=charges,
        times=coarse.t,
        form=form,
        method=method,
        dt=float(dt),
        steps=steps,
        batch=B,
        t0=float(t0),
        tolerances=tol,
    )


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def _progress(enabled: bool, total: int) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="noether check", unit="stage", leave=False)


def check(
    L: Callable,
    symmetries: Any,
    q0: Tensor,
    qdot0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "rk4",
    t0: float = 0.0,
    tolerances: Tolerances | None = None,
    n_elements: int = 8,
    seed: int = 0,
    progress: bool = False,
    masses: Any = None,
    field: Any = None,
) -> NoetherReport:
    """Check a Lagrangian's symmetries and their Noether charges.

    Parameters
    ----------
    L : callable or nn.Module
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)``. It is
        evaluated in float64 on a cast copy; the user's module is not modified.
    symmetries : Group, Generator, str or a list of them
        Groups are expanded into their generators (products too); finite
        groups (permutations) get the discrete checks. Names: ``"translation"``,
        ``"rotation"``, ``"time"``, ``"boost"``, ``"permutation"`` or a
        generator name such as ``"rotation_z"``.
    q0, qdot0 : Tensor
        Initial states, shape ``(B, *S)``; not modified.
    dt : float
        Step of the coarse rollout; the fine one uses ``dt / 2``.
    steps : int
        Steps of the coarse rollout (the fine one takes ``2 * steps``).
    method : str
        Integrator (``symnet.mechanics``); its order enters the verdict.
    t0 : float
        Initial time.
    tolerances : Tolerances, optional
        Verdict thresholds.
    n_elements : int
        Group elements sampled for the finite-element test.
    seed : int
        Seed of the element sampler.
    progress : bool
        Show a progress bar.
    masses : float or Tensor, optional
        Masses for a boost given by name.
    field : callable, optional
        The dynamics to integrate, ``f(q, qdot, t) -> qddot`` (or a
        ``symnet.mechanics`` vector field); default: the Euler-Lagrange
        equations of ``L`` (:func:`symnet.mechanics.lagrangian_vector_field`).
        Pass a system's closed-form ``acceleration`` to check ``L`` against
        known dynamics at lower cost.

    Returns
    -------
    NoetherReport
        ``rows``, ``verdicts``, ``charges`` (each ``(steps + 1, B)``), a table
        via ``str``, ``to_json()`` and ``plot(path)``.

    Raises
    ------
    ValueError
        Bad shapes, NaN/inf states, ``L`` returning a shape other than ``(B,)``,
        a group whose dimension does not fit ``S``, an unknown method or
        symmetry name, a singular mass matrix along the rollout.
    TypeError
        ``L`` is not callable or not differentiable with ``torch.func``.
    """
    return _run(
        "lagrangian",
        L,
        symmetries,
        q0,
        qdot0,
        dt=dt,
        steps=steps,
        method=method,
        t0=t0,
        tolerances=tolerances,
        n_elements=n_elements,
        seed=seed,
        progress=progress,
        masses=masses,
        field=field,
    )


def check_hamiltonian(
    H: Callable,
    symmetries: Any,
    q0: Tensor,
    p0: Tensor,
    *,
    dt: float,
    steps: int,
    method: str = "leapfrog",
    t0: float = 0.0,
    tolerances: Tolerances | None = None,
    n_elements: int = 8,
    seed: int = 0,
    progress: bool = False,
    masses: Any = None,
    field: Any = None,
) -> NoetherReport:
    """Check a Hamiltonian's symmetries: charges ``Q = p . xi - F - tau H``.

    Same parameters and report as :func:`check`, with momenta ``p0`` instead
    of velocities and ``H(q, p)`` or ``H(q, p, t)`` instead of ``L``. The
    default method, leapfrog, needs a separable ``H``; use
    ``"implicit_midpoint"`` otherwise. A ``field`` given here is Hamilton's
    equations ``f(q, p, t) -> (qdot, pdot)``, each of shape ``(B, *S)`` (a
    system's ``phase_velocity``), or a :class:`symnet.mechanics.HamiltonianField`.
    """
    return _run(
        "hamiltonian",
        H,
        symmetries,
        q0,
        p0,
        dt=dt,
        steps=steps,
        method=method,
        t0=t0,
        tolerances=tolerances,
        n_elements=n_elements,
        seed=seed,
        progress=progress,
        masses=masses,
        field=field,
    )
