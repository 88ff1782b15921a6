"""Find the parameter-space symmetries of a loss: structure proposes, numerics confirm.

``find_symmetries(model, loss_fn, batch)`` walks the model's layers in forward
order (``torch.fx``, or forward hooks), proposes translation, scale and
rescale symmetries where the architecture implies them (Kunin et al.,
"Neural Mechanics", ICLR 2021), and confirms each one by its Lie derivative on
the batch: one ``torch.func.jvp`` on a float64 copy, relative to
``|grad L| |xi|``. Candidates that fail (an eval-mode BatchNorm, a z-loss term
on the logits) are kept in ``.rejected`` with the measured residual.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, overload

import torch
from torch import nn

from symnet._deprecation import MISSING
from symnet._rng import RNG
from symnet.learning._functional import LossProbe, check_model, clone_tree
from symnet.learning._options import real, seed_from
from symnet.learning._rules import candidates, softmax_loss
from symnet.learning._trace import trace
from symnet.learning.family import SymmetryFamily
from symnet.learning.symmetry import ParameterSymmetry
from symnet.report import Report

__all__ = ["SymmetrySet", "find_symmetries"]

DEFAULT_TOL = 1e-9


class SymmetrySet(Report, Sequence[ParameterSymmetry]):
    """The confirmed symmetries (a sequence), with the rejected candidates beside them.

    Attributes
    ----------
    rejected : list of ParameterSymmetry
        Candidates whose Lie derivative was not at round-off, each with its
        ``residual`` and ``note``.
    families : list of SymmetryFamily
        Every candidate family, confirmed or not.
    tol : float
        The relative Lie-derivative tolerance used.
    traced_with : str
        ``"torch.fx"`` or ``"forward hooks"``.

    A :class:`symnet.report.Report` whose rows are the :attr:`families`:
    ``passed`` (every candidate confirmed), ``str(result)``,
    ``to_json(path=None)``.
    """

    schema: ClassVar[str] = "symnet.learning.symmetries/1"

    def __init__(
        self,
        confirmed: list[ParameterSymmetry],
        rejected: list[ParameterSymmetry],
        families: list[SymmetryFamily],
        *,
        tol: float,
        traced_with: str,
        batch_size: int | None = None,
    ) -> None:
        self._items = list(confirmed)
        self.rejected = list(rejected)
        self.families = list(families)
        self.tol = tol
        self.traced_with = traced_with
        self.batch_size = batch_size

    @overload
    def __getitem__(self, i: int) -> ParameterSymmetry: ...
    @overload
    def __getitem__(self, i: slice) -> list[ParameterSymmetry]: ...
    def __getitem__(self, i: int | slice) -> ParameterSymmetry | list[ParameterSymmetry]:
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ParameterSymmetry]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"SymmetrySet({len(self)} confirmed, {len(self.rejected)} rejected)"

    @property
    def names(self) -> list[str]:
        """Names of the confirmed symmetries."""
        return [s.name for s in self._items]

    @property
    def confirmed_families(self) -> list[SymmetryFamily]:
        """Families with at least one confirmed member."""
        return [f for f in self.families if any(m.confirmed for m in f.members)]

    def family(self, name: str) -> SymmetryFamily:
        """The family called ``name`` (KeyError listing the known ones otherwise)."""
        for f in self.families:
            if f.name == name:
                return f
        raise KeyError(f"no family {name!r}; families: {[f.name for f in self.families]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data: one entry per family with its members' status."""
        fams = []
        for f in self.families:
            fams.append(
                {
                    "family": f.name,
                    "kind": f.kind,
                    "charge": f.charge_formula,
                    "source": f.source,
                    "members": [
                        {
                            "name": m.name,
                            "confirmed": m.confirmed,
                            "exact": m.exact,
                            "residual": m.residual,
                            "note": m.note,
                        }
                        for m in f.members
                    ],
                }
            )
        return {
            "schema": self.schema,
            "tol": self.tol,
            "traced_with": self.traced_with,
            "families": fams,
        }

    # ------------------------------------------------ the Report hooks (symnet.report)

    @property
    def rows(self) -> list[SymmetryFamily]:
        """The rows of the table: every candidate family."""
        return self.families

    def row_passed(self, f: SymmetryFamily) -> bool:
        """A family passes when every member is confirmed."""
        return all(bool(m.confirmed) for m in f.members)

    def title(self) -> str:
        """What was found, and how it was checked."""
        size = "" if self.batch_size is None else f" of {self.batch_size}"
        return (
            f"Parameter-space symmetries: {len(self)} confirmed, {len(self.rejected)} rejected "
            f"(float64 Lie derivative on one batch{size}, tol {self.tol:.0e}, "
            f"traced with {self.traced_with})"
        )

    def columns(self) -> tuple[list[str], str]:
        """Column titles and alignment of the table."""
        return ["family", "kind", "confirmed", "charge", "max residual", "status"], "<<<<<<"

    def cells(self, f: SymmetryFamily) -> list[str]:
        """The table cells of family ``f``."""
        ok = sum(bool(m.confirmed) for m in f.members)
        res = [m.residual for m in f.members if m.residual is not None]
        worst = f"{max(res):.1e}" if res else "-"
        if ok == 0:
            status = "rejected"
        elif not all(m.exact for m in f.members if m.confirmed):
            status = "approximate"
        else:
            status = "confirmed" if ok == len(f) else "partly confirmed"
        return [f.name, f.kind, f"{ok}/{len(f)}", f.charge_formula, worst, status]

    def notes(self) -> list[str]:
        """One line per family: where it comes from and an example member."""
        out = [""]
        for f in self.families:
            first = next((m for m in f.members if not m.confirmed or not m.exact), f.members[0])
            note = f" ({first.note})" if first.note else ""
            out.append(f"  {f.name}: {f.source}; e.g. {first.name}{note}")
        return out

    def empty_text(self) -> str:
        """Shown instead of the table when there are no candidates."""
        return "  (the model's structure suggests no candidates)"


def _batch_size(batch: Any) -> int | None:
    inputs = batch[0] if isinstance(batch, (tuple, list)) and batch else None
    while isinstance(inputs, (tuple, list)) and inputs:
        inputs = inputs[0]
    if isinstance(inputs, dict) and inputs:
        inputs = next(iter(inputs.values()))
    return int(inputs.shape[0]) if isinstance(inputs, torch.Tensor) and inputs.dim() else None


def find_symmetries(
    model: nn.Module,
    loss_fn: Any,
    batch: Any,
    *,
    tol: float = DEFAULT_TOL,
    softmax: bool | None = None,
    rng: RNG = None,
    seed: Any = MISSING,
) -> SymmetrySet:
    """Parameter-space symmetries of ``loss_fn(model(inputs), targets)``.

    Parameters
    ----------
    model : nn.Module
        Any module with parameters; it is copied to float64 and never modified.
        Its train/eval mode matters (an eval-mode BatchNorm uses running
        statistics and has no scale symmetry).
    loss_fn : callable
        ``loss_fn(outputs, targets)`` returning a scalar tensor.
    batch : tuple
        ``(inputs, targets)``; ``inputs`` is a tensor of shape ``(B, ...)``
        (``model(inputs)``), a tuple of tensors (``model(*inputs)``) or a
        dict (``model(**inputs)``).
    tol : float
        A candidate is confirmed when its relative Lie derivative
        ``|<grad L, xi>| / (|grad L| |xi|)`` is at most ``tol`` (a finite
        positive number).
    softmax : bool, optional
        Whether the outputs are softmax logits (translation candidates on the
        last ``Linear``). Default: detected from ``loss_fn``; an unknown
        callable is treated as a possible softmax loss and checked.
    rng : int or torch.Generator, optional
        Seed for stochastic layers (dropout), the same at every evaluation:
        an int (any integer type), or a generator that gives it (one draw);
        default 0. ``seed=`` is its deprecated name.

    Returns
    -------
    SymmetrySet
        The confirmed :class:`ParameterSymmetry` objects, in forward order,
        with ``.rejected`` and ``.families``.

    Raises
    ------
    TypeError, ValueError
        ``model`` is not a module or has no parameters, ``batch`` is not
        ``(inputs, targets)``, ``loss_fn`` does not return a finite scalar,
        its gradient misses part of its value (computed under
        ``torch.no_grad()`` or on detached outputs: checked against finite
        differences of the loss), a model holds tensors that do not follow
        its dtype, a bad option.

    Notes
    -----
    Nothing passed is modified: the model is copied (attributes that cannot
    be deep-copied, such as a lock, are shared by the copy), and every
    evaluation gets fresh copies of the batch's tensors.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from symnet.learning import find_symmetries
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> found = find_symmetries(net, nn.MSELoss(), (torch.randn(8, 3), torch.randn(8, 2)))
    >>> len(found), found[0].name
    (4, 'rescale: 0.weight[0,:], 0.bias[0] / 2.weight[:,0]')
    """
    check_model(model)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    tol = real(tol, "tol", positive=True)
    seed = seed_from(rng, seed, where="symnet.learning.find_symmetries")
    if softmax is not None and not isinstance(softmax, bool):
        raise TypeError(f"softmax must be None, True or False, got {softmax!r}")
    probe = LossProbe(model, loss_fn, batch, seed=seed)
    probe.loss(probe.params)  # a non-scalar or NaN loss or a bad batch fails here, clearly
    probe.check_gradient()  # a loss under no_grad would confirm every candidate vacuously
    with torch.random.fork_rng(devices=probe._devices):
        torch.manual_seed(seed)
        graph = trace(probe.model, *clone_tree((probe.args, probe.kwargs)))
    if softmax is None:
        softmax = softmax_loss(loss_fn)
    found = candidates(graph, softmax)
    zero_eps: LossProbe | None = None
    confirmed: list[ParameterSymmetry] = []
    rejected: list[ParameterSymmetry] = []
    for cand in found:
        for sym in cand.family.members:
            r = probe.relative_lie_derivative(sym)
            sym.residual = r
            sym.confirmed = r <= tol
            if not sym.confirmed and cand.eps_layer is not None:
                if zero_eps is None:
                    zero_eps = LossProbe(model, loss_fn, batch, seed=seed, zero_eps=True)
                r0 = zero_eps.relative_lie_derivative(sym)
                if r0 <= tol:
                    sym.confirmed, sym.exact = True, False
                    sym.note = (
                        f"exact only with {cand.eps_layer}.eps = 0: eps={cand.eps:g} breaks it "
                        f"at relative {r:.1e}"
                    )
            if not sym.confirmed:
                sym.note = f"relative Lie derivative {r:.1e} > tol {tol:.0e}"
            (confirmed if sym.confirmed else rejected).append(sym)
    return SymmetrySet(
        confirmed,
        rejected,
        [c.family for c in found],
        tol=tol,
        traced_with=graph.method,
        batch_size=_batch_size(batch),
    )
