"""Train with a charge ledger and judge the conservation laws: ``check_training``.

Runs ``steps`` optimizer steps on a float64 copy of the model (with a fresh
optimizer of the same class and hyperparameters bound to the copy), records
every symmetry's charge per step and compares it with the exact discrete
recursion of the optimizer (Kunin et al., "Neural Mechanics", ICLR 2021). For
SGD with weight decay, momentum, dampening or Nesterov the observed charges
match the open-loop prediction to round-off when the symmetry is exact;
adaptive optimizers get no prediction and the report shows their drift
("kinetic symmetry breaking", Tanaka and Kunin 2021).
"""

from __future__ import annotations

import copy as _copy
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from symnet import _distributed as dist_
from symnet._distributed import wrap_ddp
from symnet._util import cast_callable, copy_module
from symnet.learning._functional import (
    LossProbe,
    cast_tree,
    check_loss,
    check_model,
    explain_dtype_error,
    split_batch,
)
from symnet.learning._options import flag, float_dtype, integer, real
from symnet.learning._parallel import is_ddp, shard_batch, unwrap
from symnet.learning._recursion import optimizer_kind
from symnet.learning.find import DEFAULT_TOL, find_symmetries
from symnet.learning.ledger import ChargeLedger
from symnet.learning.report import LearningReport

__all__ = ["check_training"]

#: Steps between two reads of the losses' finiteness in one process (a host
#: synchronisation on a GPU); the distributed loop reads it at every step, with
#: the one collective that tells every rank of a failure on another.
CHECK_EVERY = 64


class _Batches:
    """Batches from an iterator, a re-iterable (restarted), a callable or a single pair."""

    def __init__(self, batches: Any) -> None:
        self._fn: Callable[[int], Any] | None = None
        self._iterable: Iterable | None = None
        self._it: Iterator | None = None
        if (
            isinstance(batches, tuple)
            and len(batches) == 2
            and not isinstance(batches[0], tuple)
            and isinstance(batches[1], Tensor)
        ):
            self._fn = lambda _k: batches  # one (inputs, targets) pair: full-batch training
        elif isinstance(batches, Iterator):
            self._it = batches
        elif isinstance(batches, Iterable):
            self._iterable = batches
            self._it = iter(batches)
        elif callable(batches):
            self._fn = batches
        else:
            raise TypeError(
                "batches must be an iterable of (inputs, targets), a callable step -> batch "
                f"or a single (inputs, targets) pair, got {type(batches).__name__}"
            )

    def get(self, k: int) -> Any:
        if self._fn is not None:
            return self._fn(k)
        assert self._it is not None
        try:
            return next(self._it)
        except StopIteration:
            if self._iterable is None:
                raise ValueError(
                    f"batches ran out after {k} steps; pass more, a re-iterable (list, "
                    "DataLoader) or a callable step -> batch"
                ) from None
            self._it = iter(self._iterable)
            try:
                return next(self._it)
            except StopIteration:
                raise ValueError("batches is empty") from None


def _rebind(optimizer: torch.optim.Optimizer, model: nn.Module, clone: nn.Module) -> Any:
    """A new optimizer of ``optimizer``'s class and groups, stepping ``clone``'s parameters."""
    mapping = {id(p): q for p, q in zip(model.parameters(), clone.parameters(), strict=True)}
    groups = []
    for g in optimizer.param_groups:
        missing = [p for p in g["params"] if id(p) not in mapping]
        if missing:
            raise ValueError(
                f"the optimizer steps {len(missing)} tensor(s) that are not parameters of the model"
            )
        group = {k: v for k, v in g.items() if k != "params"}
        group["params"] = [mapping[id(p)] for p in g["params"]]
        groups.append(group)
    cls = type(optimizer)
    try:
        new = cls(groups)
    except TypeError as exc:
        raise TypeError(
            f"could not re-create {cls.__name__} for the copy of the model ({exc}); pass "
            "copy=False to train your model with your optimizer"
        ) from exc
    # carry the state (momentum buffers, step counts): a fresh optimizer when there is none
    new.load_state_dict(_copy.deepcopy(optimizer.state_dict()))
    return new


def check_training(
    model: nn.Module,
    loss_fn: Any,
    batches: Any,
    optimizer: torch.optim.Optimizer,
    steps: int,
    symmetries: Iterable[Any] | None = None,
    *,
    copy: bool = True,
    dtype: torch.dtype | None = None,
    rtol: float | None = None,
    tol: float = DEFAULT_TOL,
    distributed: bool = True,
) -> LearningReport:
    """Train for ``steps`` optimizer steps and compare every charge with its recursion.

    Parameters
    ----------
    model : nn.Module
        The model. With ``copy=True`` (default) a deep copy cast to ``dtype``
        is trained and ``model`` is not modified. A model wrapped in
        ``DistributedDataParallel`` or ``DataParallel`` is read through its
        ``.module`` (the symmetries name the wrapped model's parameters).
    loss_fn : callable
        ``loss_fn(outputs, targets)`` returning a scalar tensor.
    batches : iterable, callable or pair
        ``(inputs, targets)`` batches: an iterator (must last ``steps``
        batches), a re-iterable such as a list or a DataLoader (restarted when
        exhausted), a callable ``step -> batch``, or one ``(inputs, targets)``
        pair used at every step.
    optimizer : torch.optim.Optimizer
        Bound to ``model``'s parameters. With ``copy=True`` a new optimizer of
        the same class, param groups and state is bound to the copy; yours is
        not stepped.
    steps : int
        Number of optimizer steps, at least 1 (any integer type).
    symmetries : iterable of ParameterSymmetry, optional
        Default: :func:`find_symmetries` on the first batch (confirmed ones).
    copy : bool
        False trains ``model`` with ``optimizer`` in place, in their dtype.
    dtype : torch.dtype, optional
        Precision of the copy (default float64); with ``copy=False`` it must
        be the model's dtype or None.
    rtol : float, optional
        Tolerance of the verdict "matches recursion" (default 1e-9 in float64,
        1e-4 in float32).
    tol : float
        Lie-derivative tolerance of :func:`find_symmetries`.
    distributed : bool
        Under an initialised ``torch.distributed`` group of several processes
        (``torchrun``): True (default) trains under ``DistributedDataParallel``
        with every batch split across the ranks (see Notes); False runs the
        whole check on every rank by itself, without collectives.

    Returns
    -------
    LearningReport
        One row per symmetry family: drift, ``max |observed - predicted|``
        relative, residual, verdict.

    Raises
    ------
    TypeError, ValueError
        Bad model, optimizer, batches or loss (a non-scalar or non-finite
        loss, a loss whose gradient misses part of its value: computed under
        ``torch.no_grad()`` or on detached outputs, checked against finite
        differences of the loss on the first batch), ``steps < 1``, a bad
        option.

    Notes
    -----
    Distributed runs: every rank passes the same batches (the global ones);
    each rank keeps its contiguous slice of every batch
    (:func:`symnet._distributed.shard`; every tensor of a batch is split
    along its first axis, which must be at least as long as the number of
    processes) and weights its mean loss by ``n_local / n * world``, so that
    the gradient DDP averages in ``backward()`` is the gradient of the global
    batch's mean loss. ``loss_fn`` must therefore be a mean over samples (the
    default reduction of torch's losses) for the run to reproduce the
    single-process one (to round-off, in float64); layers that mix samples
    (BatchNorm in training mode) see their rank's slice. The conservation
    laws hold either way: the averaged gradient of symmetric losses is still
    orthogonal to every generator. The charges are those of the synchronised
    parameters, and every rank returns the same report. A failure on one rank
    (an exception, a non-finite loss) is raised on every rank (one collective
    per step, which also carries the loss's finiteness check). In one process
    nothing is read back from the device per step: the losses' finiteness is
    read once per ``CHECK_EVERY = 64`` steps, and the ledger's records at the
    end.
    ``symmetries=None`` runs :func:`find_symmetries` on every rank, on the
    whole first batch.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from symnet.learning import check_training
    >>> _ = torch.manual_seed(0)
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> data = [(torch.randn(16, 4), torch.randint(0, 3, (16,))) for _ in range(5)]
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    >>> report = check_training(net, nn.CrossEntropyLoss(), data, opt, steps=50)
    >>> report.all_match
    True
    """
    check_model(model)
    optimizer_kind(optimizer)  # a TypeError for anything but a torch optimizer
    steps = integer(steps, "steps", minimum=1)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    copy = flag(copy, "copy")
    if dtype is not None:
        dtype = float_dtype(dtype)
    if rtol is not None:
        rtol = real(rtol, "rtol", nonnegative=True)
    tol = real(tol, "tol", positive=True)
    distributed = flag(distributed, "distributed") and dist_.active()
    names: list[str] = []
    if symmetries is not None:
        symmetries = list(symmetries)  # read twice: a generator would be spent
        names = [n for s in symmetries for n in getattr(getattr(s, "family", s), "shapes", {})]
    wrapper, model = model, unwrap(model, names)
    own = next(model.parameters()).dtype
    if copy:
        dtype = torch.float64 if dtype is None else dtype
        run_model = copy_module(model).to(dtype)
        run_loss = cast_callable(loss_fn, dtype)
        run_opt = _rebind(optimizer, model, run_model)
    else:
        if dtype is not None and dtype != own:
            raise ValueError(
                f"copy=False trains the model in its own dtype {own}; dtype={dtype} would "
                "need a copy"
            )
        dtype, run_model, run_loss, run_opt = own, model, loss_fn, optimizer
    source = _Batches(batches)
    first = source.get(0)
    if symmetries is None:
        symmetries = find_symmetries(model, loss_fn, first, tol=tol)
    else:
        # the training must test something: a loss without (full) gradients would make
        # every charge follow the weight-decay-only recursion
        probe = LossProbe(model, loss_fn, first, dtype=dtype)
        probe.loss(probe.params)
        probe.check_gradient()
    device = next(run_model.parameters()).device
    forward: nn.Module = run_model
    if distributed:
        # the user's own DDP wrapper when it trains the user's model in place
        forward = wrapper if not copy and is_ddp(wrapper) else wrap_ddp(run_model, device)
    ledger = ChargeLedger(forward, symmetries, run_opt, auto_record=True)
    finite = _FiniteLosses()
    try:
        for k in range(steps):
            batch = first if k == 0 else source.get(k)
            weight = 1.0
            if distributed:
                batch, weight = shard_batch(batch)
            args, kwargs, targets = split_batch(cast_tree(batch, dtype, device))
            run_opt.zero_grad()
            if distributed:
                loss = _distributed_loss(forward, run_loss, args, kwargs, targets, k, dtype)
            else:
                loss = _loss(forward, run_loss, args, kwargs, targets, k, dtype, finite=False)
                finite.add(loss)
            (loss * weight if weight != 1.0 else loss).backward()
            run_opt.step()
        finite.check()
    finally:
        ledger.close()
    return ledger.report(rtol=rtol)


class _FiniteLosses:
    """The losses' finiteness, read back once per :data:`CHECK_EVERY` steps, not per step."""

    def __init__(self) -> None:
        self.codes: list[Tensor] = []
        self.done = 0

    def add(self, loss: Tensor) -> None:
        """Record one step's loss (0: finite, 1: inf, 2: NaN) on its device."""
        d = loss.detach()
        self.codes.append(torch.where(d.isnan(), 2, torch.where(d.isinf(), 1, 0)))
        if len(self.codes) == CHECK_EVERY:
            self.check()

    def check(self) -> None:
        """ValueError naming the first step whose loss was not finite (one host read)."""
        if not self.codes:
            return
        codes = torch.stack(self.codes).cpu()
        start, self.done, self.codes = self.done, self.done + len(codes), []
        bad = codes.nonzero()
        if len(bad):
            k = int(bad[0, 0])
            kind = "NaN" if int(codes[k]) == 2 else "inf"
            raise ValueError(
                f"loss_fn returned {kind} at step {start + k} (did the training diverge?); "
                "expected a finite scalar"
            )


def _loss(
    model: nn.Module,
    loss_fn: Any,
    args: tuple,
    kwargs: dict,
    targets: Any,
    k: int,
    dtype: Any,
    finite: bool = True,
) -> Tensor:
    """``loss_fn(model(*args, **kwargs), targets)``, checked: a (finite) scalar with a gradient."""
    try:
        loss = check_loss(loss_fn(model(*args, **kwargs), targets), step=k, finite=finite)
    except RuntimeError as exc:
        err = explain_dtype_error(exc, dtype, "model(inputs) or loss_fn")
        if err is None:
            raise
        raise err from None
    if not loss.requires_grad:
        raise ValueError(
            f"loss_fn(model(inputs), targets) has no gradient at step {k} (no "
            "grad_fn): was it computed under torch.no_grad() or on detached outputs?"
        )
    return loss


def _distributed_loss(
    model: nn.Module, loss_fn: Any, args: tuple, kwargs: dict, targets: Any, k: int, dtype: Any
) -> Tensor:
    """:func:`_loss` on this rank's slice; a failure on any rank raises on every rank.

    One all-reduce per step carries both an error flag (an exception here,
    e.g. a shape error) and the finiteness of every rank's loss, so that no
    rank raises alone and leaves the others waiting in ``backward()``.
    """
    error: BaseException | None = None
    loss: Tensor | None = None
    try:
        loss = _loss(model, loss_fn, args, kwargs, targets, k, dtype, finite=False)
    except Exception as exc:  # noqa: BLE001 - raised below, after telling the others
        error = exc
    like = torch.zeros((), dtype=torch.float64, device=next(model.parameters()).device)
    bad = like if loss is None else (~torch.isfinite(loss.detach())).to(like)
    flags = dist_.all_reduce_sum(torch.stack([like + float(error is not None), bad]))
    failed, nonfinite = (bool(f > 0) for f in flags.cpu())
    if error is not None:
        raise error
    if failed:
        raise RuntimeError(
            f"check_training failed on another rank at step {k} (its own error says why); "
            "this rank stops with it"
        )
    if nonfinite:
        raise ValueError(
            f"loss_fn returned a non-finite value at step {k} on "
            f"{'this' if bool(bad) else 'another'} rank (did the training diverge?); expected "
            "a finite scalar"
        )
    assert loss is not None
    return loss
