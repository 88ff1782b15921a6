"""Batches, float64 copies and the loss as a function of the parameters.

Private module. A *batch* is a pair ``(inputs, targets)``: ``inputs`` is a
tensor (``model(inputs)``), a tuple or list of them (``model(*inputs)``) or a
dict (``model(**inputs)``); ``targets`` is whatever ``loss_fn(outputs,
targets)`` takes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp

from symnet._util import cast_callable, format_shape

if TYPE_CHECKING:
    from symnet.learning.symmetry import ParameterSymmetry

__all__ = [
    "NORM_TYPES",
    "split_batch",
    "cast_tree",
    "check_loss",
    "check_model",
    "LossProbe",
]

NORM_TYPES: tuple[type, ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())


def split_batch(batch: Any) -> tuple[tuple, dict, Any]:
    """``(inputs, targets)`` -> ``(args, kwargs, targets)`` for ``model(*args, **kwargs)``."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(
            "a batch must be a pair (inputs, targets), got "
            + (f"a sequence of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
            + (type(batch).__name__ if not isinstance(batch, (tuple, list)) else "")
        )
    inputs, targets = batch
    if isinstance(inputs, Tensor):
        return (inputs,), {}, targets
    if isinstance(inputs, (tuple, list)):
        return tuple(inputs), {}, targets
    if isinstance(inputs, Mapping):
        return (), dict(inputs), targets
    raise TypeError(
        f"batch inputs must be a tensor, a tuple of tensors or a dict, got {type(inputs).__name__}"
    )


def cast_tree(x: Any, dtype: torch.dtype | None, device: torch.device | None = None) -> Any:
    """Floating tensors in ``x`` (nested tuples, lists, dicts) cast to ``dtype``/``device``."""
    if isinstance(x, Tensor):
        if dtype is not None and torch.is_floating_point(x):
            x = x.to(dtype)
        return x if device is None else x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(cast_tree(v, dtype, device) for v in x)
    if isinstance(x, Mapping):
        return {k: cast_tree(v, dtype, device) for k, v in x.items()}
    return x


def check_loss(loss: Any) -> Tensor:
    """The loss as a 0-dim tensor; a clear error when ``loss_fn`` did not return a scalar."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"loss_fn must return a scalar tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(
            f"loss_fn must return a scalar tensor, got shape {format_shape(loss.shape)} "
            "(reduce it, e.g. with .mean())"
        )
    return loss.reshape(())


def check_model(model: Any) -> None:
    """``model`` must be an ``nn.Module`` with at least one parameter."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError(
            f"model {type(model).__name__} has no parameters: there is no parameter space "
            "to look for symmetries in"
        )


def _batch_stats_only(model: nn.Module) -> None:
    """Drop the running statistics of normalizations that use batch statistics anyway.

    A train-mode BatchNorm updates its running statistics in place at every
    call, which ``torch.func`` transforms do not allow on captured buffers;
    its output does not depend on them, so the copy works without.
    """
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._NormBase) and m.training:
            if m.track_running_stats:
                m.running_mean = None
                m.running_var = None
                m.num_batches_tracked = None


class LossProbe:
    """The loss on one batch as a function of the parameters, on a copy of the model.

    Parameters
    ----------
    model : nn.Module
        Copied and cast to ``dtype``; the user's module is never modified.
    loss_fn : callable
        ``loss_fn(outputs, targets)`` -> scalar. An ``nn.Module`` is copied and cast.
    batch : tuple
        ``(inputs, targets)``.
    dtype : torch.dtype
        Precision of the copy.
    seed : int
        Stochastic layers (dropout) draw the same numbers at every evaluation.
    zero_eps : bool
        Set ``eps = 0`` in every normalization layer of the copy (the
        structural symmetry, without the regularizer that breaks it).
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Any,
        batch: Any,
        *,
        dtype: torch.dtype = torch.float64,
        seed: int = 0,
        zero_eps: bool = False,
    ) -> None:
        check_model(model)
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        self.model = copy.deepcopy(model).to(dtype)
        _batch_stats_only(self.model)
        if zero_eps:
            for m in self.model.modules():
                if isinstance(m, NORM_TYPES):
                    m.eps = 1e-200  # BatchNorm refuses eps = 0 in training
        self.loss_fn = cast_callable(loss_fn, dtype)
        device = next(self.model.parameters()).device
        self.args, self.kwargs, self.targets = split_batch(cast_tree(batch, dtype, device))
        self.params = {n: p.detach() for n, p in self.model.named_parameters()}
        self.seed = seed
        self._devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=self._devices):
            torch.manual_seed(seed)
            self._rng = torch.get_rng_state()
            self._cuda_rng = [torch.cuda.get_rng_state(d) for d in self._devices]
        self._grad: dict[str, Tensor] | None = None

    def loss(self, params: Mapping[str, Tensor]) -> Tensor:
        """The scalar loss at ``params`` (the model's parameters by name)."""
        with torch.random.fork_rng(devices=self._devices):
            torch.set_rng_state(self._rng)
            for d, state in zip(self._devices, self._cuda_rng, strict=True):
                torch.cuda.set_rng_state(state, d)
            out = functional_call(self.model, dict(params), self.args, self.kwargs)
            return check_loss(self.loss_fn(out, self.targets))

    @property
    def gradient(self) -> dict[str, Tensor]:
        """``grad L`` at the copy's parameters (computed once)."""
        if self._grad is None:
            # torch.autograd rather than torch.func.grad: the latter imports
            # torch._dynamo on first use (seconds), for the same numbers
            leaves = {n: p.detach().requires_grad_(True) for n, p in self.params.items()}
            grads = torch.autograd.grad(self.loss(leaves), list(leaves.values()), allow_unused=True)
            self._grad = {
                n: torch.zeros_like(p) if g is None else g.detach()
                for (n, p), g in zip(leaves.items(), grads, strict=True)
            }
        return self._grad

    @property
    def grad_norm(self) -> float:
        """``|grad L|`` over all parameters."""
        return math.sqrt(sum(float((g.double() ** 2).sum()) for g in self.gradient.values()))

    def directional(self, tangents: Mapping[str, Tensor]) -> float:
        """``dL/deps`` along ``tangents`` (name -> tensor; others zero): one ``jvp``."""
        full = {
            n: (tangents[n].to(p) if n in tangents else torch.zeros_like(p))
            for n, p in self.params.items()
        }
        return float(jvp(self.loss, (self.params,), (full,))[1])

    def relative_lie_derivative(self, sym: ParameterSymmetry) -> float:
        """``|dL/deps| / (|grad L| |xi|)`` along ``sym``; 0 when ``xi`` vanishes."""
        missing = [n for n in sym.family.params if n not in self.params]
        if missing:
            raise ValueError(f"{sym.name!r} acts on parameters the model lacks: {missing}")
        xi = sym.xi(self.params)
        xi_norm = math.sqrt(sum(float((t.double() ** 2).sum()) for t in xi.values()))
        if xi_norm == 0.0:
            return 0.0
        d = abs(self.directional(xi))
        scale = self.grad_norm * xi_norm
        if scale == 0.0:
            return 0.0 if d == 0.0 else math.inf
        return d / scale
