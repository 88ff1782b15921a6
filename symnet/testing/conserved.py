"""``assert_conserved``: a unit-test assertion that a Lagrangian conserves its charges.

A thin wrapper around :func:`symnet.noether.check` for tests: it runs the
Noether checker (invariance, charge drift at two step sizes, balance law) and
raises an ``AssertionError`` unless every generator of the symmetries comes out
``conserved``. ``broken`` and ``inconclusive`` both fail: a test that wants
to show that a symmetry is broken calls :func:`symnet.noether.check` and
inspects ``report.verdicts`` instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument

if TYPE_CHECKING:
    from symnet.noether import NoetherReport, VerdictThresholds

__all__ = ["ConservationAssertionError", "assert_conserved"]


class ConservationAssertionError(AssertionError):
    """Raised by :func:`assert_conserved`; carries the full Noether report.

    Attributes
    ----------
    report : NoetherReport
        The report of the failed check (``report.verdicts``, ``report.rows``).
    """

    def __init__(self, message: str, report: NoetherReport) -> None:
        super().__init__(message)
        self.report = report


def _name(fn: Callable) -> str:
    """``CentralPotential.lagrangian``, ``my_L``, ``<lambda>`` or the module's class name."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and hasattr(fn, "__name__"):  # a bound method
        return f"{type(owner).__name__}.{fn.__name__}"
    return getattr(fn, "__qualname__", None) or type(fn).__name__


def assert_conserved(
    L: Callable,
    symmetries: Any = None,
    q0: Tensor | None = None,
    qdot0: Tensor | None = None,
    *,
    dt: float = 0.01,
    steps: int = 100,
    method: str = "rk4",
    thresholds: VerdictThresholds | None = None,
    field: Callable | None = None,
    compile: bool | str = "auto",
    group: Any = MISSING,
    tolerances: Any = MISSING,
    **check_kwargs: Any,
) -> NoetherReport:
    """Assert that every generator of ``symmetries`` is a conserved symmetry of ``L``.

    Runs :func:`symnet.noether.check` and passes only when every verdict is
    ``conserved``: the invariance error is at round-off and the Noether
    charge's drift along the integrated trajectories is within tolerance or
    shrinks with the step at the integrator's order. Broken and inconclusive
    symmetries both fail.

    Parameters
    ----------
    L : callable or nn.Module
        ``L(q, qdot)`` or ``L(q, qdot, t)`` returning shape ``(B,)``; evaluated
        in float64 on a cast copy (the module is not modified).
    symmetries : Group, Generator, str or a list of them
        The symmetries to check (``Translation(3) * Rotation(3) * TimeShift()``,
        ``"rotation"``, a custom :class:`~symnet.groups.Generator`, ...), as
        for :func:`symnet.noether.check`; ``group=`` is the deprecated name.
    q0, qdot0 : Tensor
        Initial states, shape ``(B, *S)`` (``S = (N, d)`` for particle groups);
        not modified (required).
    dt : float
        Step of the coarse rollout; the checker also integrates at ``dt / 2``.
    steps : int
        Steps of the coarse rollout, ``>= 2``.
    method : str
        Integrator of :func:`symnet.mechanics.rollout`.
    thresholds : VerdictThresholds, optional
        Verdict thresholds (:class:`symnet.noether.VerdictThresholds`);
        ``tolerances=`` is the deprecated name.
    field : callable, optional
        Closed-form dynamics ``qddot = f(q, qdot, t)`` of shape ``(B, *S)``;
        default: the Euler-Lagrange equations of ``L`` by autodiff.
    compile : bool or "auto"
        How the checker's rollouts run (:func:`symnet.mechanics.rollout`):
        ``False`` eager, ``True`` compiled, ``"auto"`` compiled when that pays
        off. The verdicts do not depend on it.
    **check_kwargs
        Passed on to :func:`symnet.noether.check` (``t0``, ``masses``,
        ``n_elements``, ``rng``, ``chunk_size``, ...). A boost given by name
        without ``masses`` reads them from ``L``'s kinetic Hessian (or asks
        for them); states at rest (``qdot0 = 0``) are valid.

    Returns
    -------
    NoetherReport
        The report of the passing check; ``report.charges[name]`` has shape
        ``(steps + 1, B)``.

    Raises
    ------
    ConservationAssertionError
        (an ``AssertionError``) when a verdict is ``broken`` or
        ``inconclusive``; the message lists the failing generators with their
        reasons, followed by the report table, and ``err.report`` holds the
        report.
    ValueError, TypeError
        Bad input, as for :func:`symnet.noether.check` (``compile`` other than
        True, False or ``"auto"`` included): among others an ``L``
        whose autodiff gradient misses part of its dependence
        (``torch.no_grad()``, ``.detach()``) or that writes into its inputs.

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import Rotation, TimeShift, Translation
    >>> from symnet.testing import assert_conserved
    >>> def L(q, v):  # a free particle in 2D, (B, 1, 2) -> (B,)
    ...     return 0.5 * (v**2).sum((-1, -2))
    >>> gen = torch.Generator().manual_seed(0)
    >>> q = torch.randn(3, 1, 2, dtype=torch.float64, generator=gen)
    >>> symmetries = Translation(2) * Rotation(2) * TimeShift()
    >>> report = assert_conserved(L, symmetries, q, q, dt=0.05, steps=10)
    >>> report.verdicts["rotation"]
    'conserved'
    >>> def V(q, v):  # an external field along x breaks translation_x
    ...     return L(q, v) - q[:, 0, 0]
    >>> try:
    ...     assert_conserved(V, Translation(2), q, q, dt=0.05, steps=10)
    ... except AssertionError as err:
    ...     print(str(err).splitlines()[1])
      translation_x (P_x): broken - not invariant (...); charge drift ... explained by ...
    """
    from symnet.noether import check

    where = "symnet.testing.assert_conserved"
    symmetries = renamed_argument("group", "symmetries", group, symmetries, where=where)
    thresholds = renamed_argument("tolerances", "thresholds", tolerances, thresholds, where=where)
    for value, name in ((symmetries, "symmetries"), (q0, "q0"), (qdot0, "qdot0")):
        if value is None:
            raise TypeError(f"{where}() missing required argument: {name!r}")
    report = check(
        L,
        symmetries,
        q0,
        qdot0,
        dt=dt,
        steps=steps,
        method=method,
        thresholds=thresholds,
        field=field,
        compile=compile,
        **check_kwargs,
    )
    failing = [r for r in report.rows if r.verdict != "conserved"]
    if failing:
        lines = [f"{_name(L)} does not conserve every charge of {symmetries!r}:"]
        lines += [f"  {r.generator} ({r.charge}): {r.verdict} - {r.reason}" for r in failing]
        lines += ["", str(report)]
        raise ConservationAssertionError("\n".join(lines), report)
    return report
