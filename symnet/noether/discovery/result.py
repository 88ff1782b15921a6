"""Results of symmetry discovery: :class:`SymmetryDiscovery` and :class:`ChargeDiscovery`.

Both are lists (of :class:`~symnet.groups.Generator` and of
:class:`Charge`) that also carry the spectrum of the discovery (singular
values, the cut, the gap), the Lie algebra of what was found, and a
``check`` method that verifies each finding along integrated trajectories
with the Noether checker's verdict rules (:func:`symnet.noether.check`,
:func:`symnet.noether.check_charges`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from torch import Tensor

from symnet._deprecation import MISSING, renamed_argument
from symnet._report_io import jsonable
from symnet.groups import Generator
from symnet.noether.discovery.algebra import LieAlgebra
from symnet.noether.discovery.phase_space import Charge
from symnet.noether.report import NoetherReport
from symnet.noether.verdict import VerdictThresholds
from symnet.report import Report

__all__ = ["SymmetryDiscovery", "ChargeDiscovery"]


def _sv_line(rel: Tensor, k: int, per_line: int = 10) -> list[str]:
    vals = [f"{x:.1e}" for x in rel.tolist()]
    m = len(vals)
    if 0 < k <= m:
        vals.insert(m - k, "|")
    return ["  " + " ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]


#: A finding whose relative singular value is at most this is reported ``exact``.
EXACT = 1e-10


class _Discovery(Report, list):
    """Shared spectrum bookkeeping and report surface (:class:`symnet.report.Report`).

    ``rows`` are the findings themselves; ``passed`` is True when something
    was found and every finding is exact (relative singular value at most
    :data:`EXACT`); ``str`` gives the spectrum, a table of the findings and
    their algebra; ``to_dict`` / ``to_json`` the same as data.
    """

    form = ""
    schema: ClassVar[str] = "symnet.noether.discovery/1"
    table_indent: ClassVar[str] = "  "

    def __init__(
        self,
        items: list[Any],
        *,
        singular_values: Tensor,
        relative_singular_values: Tensor,
        threshold: float,
        gap: float | None,
        algebra: LieAlgebra,
        candidates: str,
        n_states: int,
    ) -> None:
        super().__init__(items)
        self.singular_values = singular_values
        self.relative_singular_values = relative_singular_values
        self.threshold = threshold
        self.gap = gap
        self.algebra = algebra
        self.candidates = candidates
        self.n_states = n_states

    @property
    def names(self) -> list[str]:
        """Names of the findings, in order."""
        return [x.name for x in self]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            by_name = {x.name: x for x in reversed(self)}  # the first of a name wins
            if key in by_name:
                return by_name[key]
            raise KeyError(f"nothing named {key!r} was found; found: {self.names}")
        return super().__getitem__(key)

    @property
    def rows(self) -> list[Any]:  # type: ignore[override]
        """The findings, in order (the report's rows)."""
        return list(self)

    def relative_of(self, item: Any) -> float:
        """The relative singular value of one finding."""
        raise NotImplementedError

    def row_passed(self, row: Any) -> bool:
        """Whether a finding is exact (relative singular value at most :data:`EXACT`)."""
        return self.relative_of(row) <= EXACT

    def title(self) -> str:
        """The spectrum: candidates, singular values, the cut and the gap."""
        return "\n".join(self._header())

    def notes(self) -> list[str]:
        """The Lie (or Poisson) algebra of the findings."""
        return [str(self.algebra)]

    def empty_text(self) -> str:
        """Nothing was found: the (empty) algebra only."""
        return str(self.algebra)

    def row_dict(self, item: Any) -> dict[str, Any]:
        """One finding as plain data."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python data: spectrum, cut, findings and algebra."""
        return {
            "schema": self.schema,
            "form": self.form,
            "candidates": self.candidates,
            "n_states": self.n_states,
            "singular_values": [float(x) for x in self.singular_values],
            "threshold": jsonable(float(self.threshold)),
            "gap": None if self.gap is None else jsonable(float(self.gap)),
            "rows": [{k: jsonable(v) for k, v in self.row_dict(x).items()} for x in self],
            "algebra": str(self.algebra),
        }

    def _header(self) -> list[str]:
        k = len(self)
        top = float(self.singular_values[0]) if len(self.singular_values) else 0.0
        gap = "none (nothing below the cut)" if self.gap is None else f"{self.gap:.2e}"
        return [
            f"Symmetry discovery ({self.form}; candidates: {self.candidates}; "
            f"{self.n_states} states)",
            f"singular values relative to the largest ({top:.3e}), '|' marks the cut:",
            *_sv_line(self.relative_singular_values, k),
            f"cut at relative {self.threshold:.2e}; gap across the cut {gap}; found {k}",
        ]


class SymmetryDiscovery(_Discovery):
    """Generators that leave a Lagrangian invariant, found by :func:`discover`.

    A ``list`` of :class:`~symnet.groups.Generator` (built with
    ``Generator.linear`` for affine findings), with:

    Attributes
    ----------
    singular_values : Tensor
        All singular values, descending, shape ``(m,)`` for ``m`` candidate
        coefficients: root mean square of the normalized Lie derivative.
    relative_singular_values : Tensor
        ``singular_values / singular_values[0]``.
    threshold : float
        The relative cut; the generators lie below it.
    gap : float or None
        Ratio of the singular values on either side of the cut.
    relative : dict of str to float
        Per generator: its relative singular value (the Rayleigh quotient of
        its canonical coefficients); near 1e-16 for an exact symmetry in float64.
    deviation : dict of str to float
        Per generator: how far the numerical nullspace vector was from the
        named canonical form (0 for exact symmetries).
    coefficients : dict of str to Tensor
        Per generator: its coefficient vector ``[custom | tau | A | b]``.
    algebra : LieAlgebra
        Brackets and structure constants of the found generators.
    """

    form = "lagrangian"

    def __init__(
        self,
        items: list[Generator],
        *,
        L: Callable,
        relative: dict[str, float],
        deviation: dict[str, float],
        coefficients: dict[str, Tensor],
        **kwargs: Any,
    ) -> None:
        super().__init__(items, **kwargs)
        self.L = L
        self.relative = relative
        self.deviation = deviation
        self.coefficients = coefficients

    def relative_of(self, item: Generator) -> float:
        """The relative singular value of a found generator."""
        return self.relative[item.name]

    def columns(self) -> tuple[list[str], str]:
        """Table columns: generator, relative singular value, deviation, exact or not."""
        return ["generator", "rel. sigma", "deviation", "exact?"], "<<<<"

    def cells(self, row: Generator) -> list[str]:
        """One found generator's table cells."""
        rel, dev = self.relative[row.name], self.deviation[row.name]
        tag = "exact" if rel <= EXACT else "approximate"
        return [row.name, f"{rel:.1e}", f"{dev:.1e}", tag]

    def row_dict(self, item: Generator) -> dict[str, Any]:
        """A found generator as data: name, relative singular value, deviation, coefficients."""
        return {
            "name": item.name,
            "relative": self.relative[item.name],
            "deviation": self.deviation[item.name],
            "exact": self.relative[item.name] <= EXACT,
            "coefficients": [float(x) for x in self.coefficients[item.name]],
        }

    def check(
        self, q0: Tensor, qdot0: Tensor, *, dt: float, steps: int, **kwargs: Any
    ) -> NoetherReport:
        """Verify every found generator with :func:`symnet.noether.check`.

        Parameters
        ----------
        q0, qdot0 : Tensor
            Initial states, shape ``(B, *S)``.
        dt, steps : float, int
            Rollout step and number of steps.
        **kwargs
            Passed on (``method``, ``field``, ``thresholds``, ``rng``,
            ``compile``, ``progress``, ``distributed``, ...): under an
            initialised ``torch.distributed`` group the trajectories are
            shared among the ranks unless ``distributed=False``.
        """
        from symnet.noether.checker import check

        if not len(self):
            raise ValueError("nothing was found, so there is nothing to check")
        return check(self.L, list(self), q0, qdot0, dt=dt, steps=steps, **kwargs)


class ChargeDiscovery(_Discovery):
    """Conserved charges of a Hamiltonian, found by :func:`discover_hamiltonian`.

    A ``list`` of :class:`Charge` (callables ``Q(q, p)`` with names), with
    the spectrum attributes of :class:`SymmetryDiscovery` and the Poisson
    algebra of the charges as :attr:`algebra`.
    """

    form = "hamiltonian"

    def __init__(self, items: list[Charge], *, H: Callable, **kwargs: Any) -> None:
        super().__init__(items, **kwargs)
        self.H = H

    @property
    def generators(self) -> list[Generator]:
        """The point symmetries among the charges (``Q = p . xi(q)``)."""
        return [c.generator for c in self if c.generator is not None]

    def relative_of(self, item: Charge) -> float:
        """The relative singular value of a found charge."""
        return item.relative_singular_value

    def columns(self) -> tuple[list[str], str]:
        """Table columns: charge, relative singular value, relative bracket, formula."""
        return ["charge", "rel. sigma", "{Q,H} rel.", "formula"], "<<<<"

    def cells(self, row: Charge) -> list[str]:
        """One found charge's table cells."""
        return [
            row.name,
            f"{row.relative_singular_value:.1e}",
            f"{row.bracket_error:.1e}",
            row.formula,
        ]

    def row_dict(self, item: Charge) -> dict[str, Any]:
        """A found charge as data: name, formula, relative singular value and bracket."""
        return {
            "name": item.name,
            "formula": item.formula,
            "relative": item.relative_singular_value,
            "bracket_error": item.bracket_error,
            "exact": item.relative_singular_value <= EXACT,
            "point_symmetry": None if item.generator is None else item.generator.name,
        }

    def check(
        self,
        q0: Tensor,
        p0: Tensor,
        *,
        dt: float,
        steps: int,
        method: str = "rk4",
        field: Any = None,
        thresholds: VerdictThresholds | None = None,
        compile: bool | str = "auto",
        distributed: bool = True,
        tolerances: Any = MISSING,
    ) -> NoetherReport:
        """Verify every charge along trajectories of ``H`` (:func:`~symnet.noether.check_charges`).

        ``compile`` is the rollouts' (True, False or ``"auto"``); ``distributed``
        shares the trajectories among the ranks of an initialised
        ``torch.distributed`` group (False: every rank runs them all);
        ``tolerances=`` is the deprecated name of ``thresholds=``.
        """
        from symnet.noether.charge_checker import check_charges

        thresholds = renamed_argument(
            "tolerances",
            "thresholds",
            tolerances,
            thresholds,
            where="symnet.noether.ChargeDiscovery.check",
        )
        if not len(self):
            raise ValueError("nothing was found, so there is nothing to check")
        return check_charges(
            self.H,
            list(self),
            q0,
            p0,
            dt=dt,
            steps=steps,
            method=method,
            field=field,
            thresholds=thresholds,
            compile=compile,
            distributed=distributed,
        )
