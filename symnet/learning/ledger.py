"""The charge ledger: every symmetry's charge at every optimizer step, and its prediction.

``ChargeLedger(model, symmetries, optimizer)`` hooks into a training loop you
write yourself. Before each ``optimizer.step()`` (a step pre-hook, always
registered) it records the gradient quantities the exact recursions need:
``<g, S g>`` and ``<b, S g>`` per unit, the hyperparameters of the step and
the symmetry residual ``|<g, xi>| / (|g| |xi|)``; after the step,
``ledger.record()`` (or ``auto_record=True``, a step post-hook) records the
charges, in float64. ``ledger.report()`` compares them with the open-loop
predictions of the recursions (SGD; see ``symnet.learning._recursion``) or,
for adaptive optimizers, only shows the drift: Adam-type updates break the
conservation laws ("kinetic symmetry breaking", Tanaka and Kunin,
"Noether's Learning Dynamics", NeurIPS 2021; Kunin et al., "Neural Mechanics",
ICLR 2021).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from symnet.learning import ChargeLedger, find_symmetries
>>> _ = torch.manual_seed(0)
>>> net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
>>> x, y = torch.randn(16, 3, dtype=torch.float64), torch.randn(16, 2, dtype=torch.float64)
>>> syms = find_symmetries(net, nn.MSELoss(), (x, y))
>>> opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
>>> with ChargeLedger(net, syms, opt) as ledger:
...     for _ in range(20):
...         opt.zero_grad()
...         nn.functional.mse_loss(net(x), y).backward()
...         opt.step()
...         ledger.record()
>>> ledger.report().verdicts
{'rescale 0/2 (4 units)': 'matches recursion'}
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from symnet.learning._functional import check_model
from symnet.learning._options import flag, real
from symnet.learning._parallel import unwrap
from symnet.learning._recursion import Hyper, optimizer_kind, predict_linear, predict_quad
from symnet.learning._track import Track, group_symmetries
from symnet.learning.report import LearningReport, LedgerRow, default_rtol

__all__ = ["ChargeLedger"]


class ChargeLedger:
    """Record symmetry charges along training, step by step.

    Parameters
    ----------
    model : nn.Module
        The module being trained (the ledger reads its parameters by name),
        or that module wrapped in ``DistributedDataParallel`` or
        ``DataParallel``: the ledger reads the wrapped module's parameters,
        by the names the symmetries use (without the wrapper's ``module.``
        prefix).
    symmetries : iterable of ParameterSymmetry or SymmetryFamily
        E.g. the result of :func:`~symnet.learning.find_symmetries`.
    optimizer : torch.optim.Optimizer
        The optimizer stepping ``model``'s parameters. A step pre-hook is
        registered on it until :meth:`close` (or the end of a ``with`` block).
    auto_record : bool
        Also register a step post-hook that calls :meth:`record`.

    Raises
    ------
    TypeError, ValueError
        Not a module or optimizer; a symmetry names a parameter the model
        lacks or with another shape.

    Notes
    -----
    Under ``DistributedDataParallel`` the gradients are averaged over the
    ranks during ``backward()``; the ledger reads them in a step pre-hook,
    after that average, so every rank sees the synchronised gradients and,
    after ``optimizer.step()``, the synchronised parameters: every rank's
    ledger and report are the same. Create the ledger after wrapping the
    model (DDP copies rank 0's parameters to the others when it wraps), and
    step only after a synchronising backward (not inside ``no_sync()``).

    The recorded values stay on the parameters' device, with no host
    synchronisation per step; :meth:`charges`, :meth:`predictions` and
    :meth:`report` move them to the CPU once, when they are called.
    """

    def __init__(
        self,
        model: nn.Module,
        symmetries: Iterable[Any],
        optimizer: torch.optim.Optimizer,
        *,
        auto_record: bool = False,
    ) -> None:
        check_model(model)
        auto_record = flag(auto_record, "auto_record")
        self.kind = optimizer_kind(optimizer)
        self.optimizer = optimizer
        self.optimizer_name = type(optimizer).__name__
        self.tracks = group_symmetries(symmetries)
        model = unwrap(model, (n for tr in self.tracks for n in tr.family.shapes))
        self.model = model
        self._all = dict(model.named_parameters())
        for tr in self.tracks:
            for name, shape in tr.family.shapes.items():
                if name not in self._all:
                    raise ValueError(
                        f"{tr.family.name!r} acts on {name!r}, which {type(model).__name__} "
                        "does not have"
                    )
                if tuple(self._all[name].shape) != shape:
                    raise ValueError(
                        f"{tr.family.name!r} expects {name} of shape {shape}, the model's "
                        f"has {tuple(self._all[name].shape)}"
                    )
        first = next(iter(self._all.values()))
        self.dtype, self.device = first.dtype, first.device
        self._group = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        self.steps = 0
        # a count on the device: read once, by report()
        self._steps_with_gradient = torch.zeros((), dtype=torch.int64, device=self.device)
        self._pending: dict[int, dict[str, Any]] | None = None
        for tr in self.tracks:
            tr.to(self.device)
            self._start(tr)
        self._handles = [optimizer.register_step_pre_hook(self._before_step)]
        if auto_record:
            self._handles.append(optimizer.register_step_post_hook(lambda *_: self.record()))

    # ------------------------------------------------------------------ recording
    def _buffers(self, tr: Track) -> dict[str, Tensor | None]:
        state = self.optimizer.state
        return {n: state.get(self._all[n], {}).get("momentum_buffer") for n in tr.family._params}

    def _start(self, tr: Track) -> None:
        fam = tr.family
        tr.observed.append(tr.pick(fam.charges(self._all)))
        tr.magnitude.append(tr.pick(fam.magnitudes(self._all)))
        outside = [n for n in fam._params if id(self._all[n]) not in self._group]
        if outside:
            tr.reason = f"{', '.join(outside)} not stepped by the optimizer"
        zeros = torch.zeros(len(tr.units), dtype=torch.float64, device=self.device)
        tr.start = {"P": zeros, "R": zeros, "m": zeros}
        bufs = self._buffers(tr)
        if all(b is not None for b in bufs.values()):
            if fam.quadratic:
                tr.start["P"] = tr.pick(fam.bilinear(self._all, bufs))
                tr.start["R"] = tr.pick(fam.bilinear(bufs, bufs))
            else:
                tr.start["m"] = tr.pick(fam.linear(bufs))

    @torch.no_grad()
    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._pending is not None:
            raise RuntimeError(
                "ChargeLedger: optimizer.step() was called twice without ledger.record() in "
                "between; call record() once after every step (or use auto_record=True)"
            )
        # |g| over all parameters, on the device (no host synchronisation per step);
        # under DDP p.grad is already the average over the ranks (reduced in backward)
        sq = [(p.grad.double() ** 2).sum().to(self.device) for p in self._all.values()
              if p.grad is not None]  # fmt: skip
        zero = torch.zeros((), dtype=torch.float64, device=self.device)
        gnorm = torch.stack(sq).sum().sqrt() if sq else zero
        self._steps_with_gradient += (gnorm > 0).to(torch.int64)
        pending: dict[int, dict[str, Any]] = {}
        cache: dict[int, Hyper] = {}

        def hyper(group: dict[str, Any]) -> Hyper:
            if id(group) not in cache:
                cache[id(group)] = Hyper.from_group(group)
            return cache[id(group)]

        for i, tr in enumerate(self.tracks):
            fam = tr.family
            grads = {n: self._all[n].grad for n in fam._params}
            if any(g is None for g in grads.values()):
                none = [n for n, g in grads.items() if g is None]
                tr.reason = tr.reason or f"no gradient for {', '.join(none)} at step {self.steps}"
                nan = torch.full((len(tr.units),), math.nan, dtype=torch.float64)
                pending[i] = {"residual": nan.to(self.device)}
                continue
            entry: dict[str, Any] = {}
            maps: list[Any] = [self._all, grads]
            if self.kind == "sgd" and tr.reason is None:
                hypers = {hyper(self._group[id(self._all[n])]) for n in fam._params}
                bufs = self._buffers(tr)
                has = [b is not None for b in bufs.values()]
                if len(hypers) > 1:
                    tr.reason = (
                        "its parameters are in param groups with different SGD hyperparameters "
                        "(the recursion needs one lr, weight decay and momentum for all of them)"
                    )
                elif any(has) and not all(has):
                    tr.reason = "only some of its parameters have a momentum buffer"
                else:
                    entry["hyper"], entry["buffer"] = hypers.pop(), all(has)
                    maps += [bufs] if all(has) else []
            X = fam._stacked(*maps)  # rows: theta_k, g_k and (if any) b_{k-1}
            if fam.quadratic:
                # <g, S theta>, |theta|^2, <g, S g>, <b, S g> in one product
                W = torch.cat([X[:2] * tr.signs, X[:1]])
                rows, cols = ([1, 0, 1, 2], [0, 2, 1, 1]) if len(X) > 2 else ([1, 0, 1], [0, 2, 1])
                out = tr.pick((X[rows] * W[cols]).sum(-1))
                dot, xi = out[0], out[1].sqrt()
                entry["G"] = out[2]
                entry["C"] = out[3] if len(X) > 2 else torch.zeros_like(dot)
            else:
                dot = tr.pick(X[1].sum(-1))
                xi = torch.full_like(dot, math.sqrt(X.shape[-1]))
            entry["residual"] = dot.abs() / (gnorm * xi).clamp_min(1e-300)
            pending[i] = entry
        self._pending = pending

    @torch.no_grad()
    def record(self) -> None:
        """Record the charges after an ``optimizer.step()``; call once after every step.

        Raises
        ------
        RuntimeError
            No step happened since the last record.
        """
        if self._pending is None:
            raise RuntimeError(
                "ChargeLedger.record() must follow an optimizer.step() (one record per step)"
            )
        for i, tr in enumerate(self.tracks):
            entry = self._pending[i]
            theta = tr.family._stacked(self._all)[0]
            if tr.family.quadratic:
                sq = theta * theta
                both = torch.stack([(sq * tr.signs).sum(-1), sq.sum(-1)])
            else:
                both = torch.stack([theta.sum(-1), theta.abs().sum(-1)])
            charge, size = tr.pick(both)
            tr.observed.append(charge)
            tr.magnitude.append(size)
            tr.residual.append(entry["residual"])
            if tr.reason is None and "hyper" in entry:
                tr.hypers.append(entry["hyper"])
                tr.buffers.append(entry["buffer"])
                if tr.family.quadratic:
                    tr.grads.append(entry["G"])
                    tr.cross.append(entry["C"])
        self._pending = None
        self.steps += 1

    def close(self) -> None:
        """Remove the optimizer hooks (the recorded data stays)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> ChargeLedger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"ChargeLedger({len(self.tracks)} families, {self.optimizer_name}, {self.steps} steps)"
        )

    # ------------------------------------------------------------------ report
    def charges(self) -> dict[str, Tensor]:
        """Observed charges per family: shape ``(steps + 1, units)``, float64, on the CPU."""
        return {tr.family.name: tr.host()["observed"] for tr in self.tracks}

    def predictions(self) -> dict[str, Tensor | None]:
        """Predicted charges per family, shape ``(steps + 1, units)``, on the CPU.

        None for a family without a recursion.
        """
        return {tr.family.name: self._predict(tr, tr.host()) for tr in self.tracks}

    def _predict(self, tr: Track, h: dict[str, Tensor]) -> Tensor | None:
        """The open-loop prediction from ``tr``'s recorded values ``h`` (on the CPU)."""
        if self.kind != "sgd" or tr.reason is not None:
            return None
        q0 = h["observed"][0]
        if not tr.family.quadratic:
            return predict_linear(q0, h["m"], tr.hypers, tr.buffers)
        grads = list(h["grads"]) if tr.grads else []
        cross = list(h["cross"]) if tr.cross else []
        return predict_quad(q0, h["P"], h["R"], tr.hypers, tr.buffers, grads, cross)

    def report(self, *, rtol: float | None = None) -> LearningReport:
        """Compare the charges with the recursions; see :class:`LearningReport`.

        Parameters
        ----------
        rtol : float, optional
            Largest ``max_k |observed - predicted| / scale`` that still
            "matches recursion" (finite, non-negative); default by the
            model's dtype (1e-9 for float64, 1e-4 for float32).

        Notes
        -----
        Every row is "no prediction" when no step was recorded, or when the
        gradient was zero at every step: then the charges follow the
        gradient-free part of the recursion trivially and nothing was tested.
        """
        rtol = default_rtol(self.dtype) if rtol is None else real(rtol, "rtol", nonnegative=True)
        with_gradient = int(self._steps_with_gradient)
        observed: dict[str, Tensor] = {}
        predicted: dict[str, Tensor | None] = {}
        rows = []
        for tr in self.tracks:
            name, h = tr.family.name, tr.host()
            obs = observed[name] = h["observed"]
            pred = predicted[name] = self._predict(tr, h)
            scale = h["magnitude"].max(0).values.clamp_min(1e-300)
            drift = float(((obs - obs[0]).abs() / scale).max())
            res = h.get("residual", torch.zeros(1, dtype=torch.float64))
            residual = float(res.nan_to_num(0.0).max()) if bool(res.isfinite().any()) else None
            error = None if pred is None else float(((obs - pred).abs() / scale).max())
            verdict, reason = self._verdict(tr, error, residual, rtol, with_gradient)
            rows.append(
                LedgerRow(
                    name, tr.family.kind, tr.family.charge_formula, len(tr.units), drift, error,
                    residual, verdict, reason,
                )
            )  # fmt: skip
        groups = [Hyper.from_group(g).describe() if self.kind == "sgd" else
                  {k: v for k, v in g.items() if isinstance(v, (int, float, bool))}
                  for g in self.optimizer.param_groups]  # fmt: skip
        return LearningReport(
            rows=rows,
            charges=observed,
            predicted=predicted,
            optimizer=self.optimizer_name,
            param_groups=groups,
            steps=self.steps,
            dtype=str(self.dtype).replace("torch.", ""),
            rtol=rtol,
        )

    def _verdict(
        self, tr: Track, error: float | None, residual: float | None, rtol: float, grads: int
    ) -> tuple[str, str]:
        if self.steps == 0:
            return "no prediction", "no optimizer step was recorded: nothing was tested"
        if grads == 0:
            return "no prediction", (
                f"the loss's gradient was zero at every one of the {self.steps} steps (a loss "
                "computed under torch.no_grad() or on detached outputs?): the charges follow "
                "the gradient-free recursion trivially, so nothing was tested"
            )
        if self.kind == "adaptive":
            return "no prediction", (
                f"adaptive optimizer {self.optimizer_name}: its per-coordinate step is not "
                "along the gradient, so even an exact symmetry's charge drifts (kinetic "
                "symmetry breaking, Tanaka & Kunin 2021)"
            )
        if self.kind == "unsupported":
            return "no prediction", (
                f"no recursion for {self.optimizer_name}; exact predictions exist for "
                "torch.optim.SGD (any lr schedule, weight decay, momentum, dampening, "
                "Nesterov, maximize)"
            )
        if error is None:
            return "no prediction", str(tr.reason)
        if error <= rtol:
            return "matches recursion", f"max |observed - predicted| / scale = {error:.1e}"
        why = f"max |observed - predicted| / scale = {error:.1e} > rtol {rtol:.0e}"
        if not tr.exact:
            note = next(tr.family.members[int(u)].note for u in tr.units)
            return "deviates", f"{why}: an approximate symmetry ({note})"
        if residual is not None and residual > rtol:
            return (
                "deviates",
                f"{why}: the gradient is not orthogonal to xi (residual {residual:.1e})",
            )
        return "deviates", f"{why}, although the gradient stays orthogonal to xi"
