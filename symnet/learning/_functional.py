"""Batches, float64 copies and the loss as a function of the parameters.

Private module. A *batch* is a pair ``(inputs, targets)``: ``inputs`` is a
tensor (``model(inputs)``), a tuple or list of them (``model(*inputs)``) or a
dict (``model(**inputs)``); ``targets`` is whatever ``loss_fn(outputs,
targets)`` takes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, jvp

from symnet._util import cast_callable, copy_module, format_shape
from symnet.learning._options import float_dtype, integer

if TYPE_CHECKING:
    from symnet.learning.symmetry import ParameterSymmetry

__all__ = [
    "NORM_TYPES",
    "split_batch",
    "cast_tree",
    "clone_tree",
    "check_loss",
    "check_model",
    "explain_dtype_error",
    "LossProbe",
]

NORM_TYPES: tuple[type, ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())


#: (first step relative to |theta|, relative tolerance) of the gradient check per dtype.
_FD_STEPS = {torch.float64: (1e-4, 1e-4), torch.float32: (1e-2, 3e-2)}


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
    """Copies of the tensors in ``x`` (nested tuples, lists, dicts), floating ones in ``dtype``.

    Every tensor is a new, detached one, even when no cast is needed: a model
    or loss that writes to its inputs in place never reaches the user's batch.
    """
    if isinstance(x, Tensor):
        y = x.detach()
        if dtype is not None and torch.is_floating_point(y):
            y = y.to(dtype)
        if device is not None:
            y = y.to(device)
        return y.clone() if y.data_ptr() == x.data_ptr() else y
    if isinstance(x, (tuple, list)):
        return type(x)(cast_tree(v, dtype, device) for v in x)
    if isinstance(x, Mapping):
        return {k: cast_tree(v, dtype, device) for k, v in x.items()}
    return x


def clone_tree(x: Any) -> Any:
    """``x`` with every tensor cloned (fresh inputs for one evaluation)."""
    if isinstance(x, Tensor):
        return x.clone()
    if isinstance(x, (tuple, list)):
        return type(x)(clone_tree(v) for v in x)
    if isinstance(x, Mapping):
        return {k: clone_tree(v) for k, v in x.items()}
    return x


def check_loss(loss: Any, step: int | None = None, *, finite: bool = True) -> Tensor:
    """The loss as a 0-dim tensor; a clear error when ``loss_fn`` did not return a finite scalar.

    ``finite=False`` skips the finiteness test (a host synchronisation), for a
    caller that tests it together with other ranks.
    """
    if not isinstance(loss, Tensor):
        raise TypeError(f"loss_fn must return a scalar tensor, got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(
            f"loss_fn must return a scalar tensor, got shape {format_shape(loss.shape)} "
            "(reduce it, e.g. with .mean())"
        )
    if not torch.is_floating_point(loss):
        raise TypeError(f"loss_fn must return a floating-point scalar, got dtype {loss.dtype}")
    if finite and not bool(torch.isfinite(loss.detach()).all()):
        kind = "NaN" if bool(torch.isnan(loss.detach()).any()) else "inf"
        where = "" if step is None else f" at step {step} (did the training diverge?)"
        raise ValueError(f"loss_fn returned {kind}{where}; expected a finite scalar")
    return loss.reshape(())


def explain_dtype_error(exc: BaseException, dtype: torch.dtype, what: str) -> TypeError | None:
    """A TypeError explaining a dtype clash inside the ``dtype`` copy of a model, or None."""
    text = " ".join(str(exc).split())
    low = text.lower()
    if not any(w in low for w in ("dtype", "double", "float", "half", "bfloat")):
        return None
    name = str(dtype).replace("torch.", "")
    return TypeError(
        f"{what} failed in {name} ({text[:200]}): the model's parameters and buffers were "
        f"cast to {name}, but the model (or loss_fn) uses tensors of another dtype that are "
        "neither parameters nor buffers (a plain tensor attribute, or a tensor created "
        "inside forward without dtype=x.dtype). Register them with "
        "self.register_buffer(name, tensor) so that they follow the model's dtype"
    )


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
        dtype = float_dtype(dtype)
        seed = integer(seed, "seed")
        self.dtype = dtype
        self.model = copy_module(model).to(dtype)
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
            # fresh inputs at every evaluation: a model writing to them in place
            # (x.mul_) must see the same batch each time
            args, kwargs, targets = clone_tree((self.args, self.kwargs, self.targets))
            try:
                out = functional_call(self.model, dict(params), args, kwargs)
                loss = self.loss_fn(out, targets)
            except RuntimeError as exc:
                err = explain_dtype_error(exc, self.dtype, "model(inputs) or loss_fn")
                if err is None:
                    raise
                raise err from None
            return check_loss(loss)

    @property
    def gradient(self) -> dict[str, Tensor]:
        """``grad L`` at the copy's parameters (computed once)."""
        if self._grad is None:
            # torch.autograd rather than torch.func.grad: the latter imports
            # torch._dynamo on first use (seconds), for the same numbers
            leaves = {n: p.detach().requires_grad_(True) for n, p in self.params.items()}
            with torch.enable_grad():
                loss = self.loss(leaves)
            if not loss.requires_grad:
                raise ValueError(
                    "loss_fn(model(inputs), targets) has no gradient with respect to the "
                    "model's parameters (no grad_fn): was it computed under torch.no_grad() "
                    "or on detached outputs? Every symmetry test would pass vacuously"
                )
            grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
            self._grad = {
                n: torch.zeros_like(p) if g is None else g.detach()
                for (n, p), g in zip(leaves.items(), grads, strict=True)
            }
        return self._grad

    def check_gradient(self, n_tries: int = 2) -> None:
        """Raise when ``grad L`` misses part of the loss's dependence on the parameters.

        The directional derivative ``<grad L, u>`` along a random direction
        ``u`` (as long as the parameter vector) is compared with central
        differences of the loss's *values* at two step sizes; a mismatch
        counts only where the two differences agree with each other (no kink
        between the points) and shows again along a second direction with a
        smaller step. A loss computed under ``torch.no_grad()``, on detached
        outputs or through numpy has zero (or partial) gradients, so every
        symmetry's Lie derivative and every charge recursion would pass
        vacuously.

        Raises
        ------
        ValueError
            The gradient disagrees with the finite differences of the values.
        """
        h0, tol = _FD_STEPS.get(self.dtype, (1e-2, 3e-2))
        eps = torch.finfo(self.dtype).eps
        grad = self.gradient
        gen = torch.Generator().manual_seed(self.seed + 7919)
        theta = math.sqrt(sum(float((p.double() ** 2).sum()) for p in self.params.values()))
        size = theta if theta > 0 else 1.0
        with torch.no_grad():
            value = float(self.loss(self.params).abs())
        for k in range(n_tries):
            u = {
                n: torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p)
                for n, p in self.params.items()
            }
            norm = math.sqrt(sum(float((t.double() ** 2).sum()) for t in u.values()))
            u = {n: t * (size / norm) for n, t in u.items()}
            h = h0 / (4.0**k)
            ad = sum(float((grad[n].double() * u[n].double()).sum()) for n in u)

            def fd(step: float, u: dict[str, Tensor] = u) -> float:
                with torch.no_grad():
                    plus = {n: p + step * u[n] for n, p in self.params.items()}
                    minus = {n: p - step * u[n] for n, p in self.params.items()}
                    return float(self.loss(plus) - self.loss(minus)) / (2.0 * step)

            fd1, fd2 = fd(h), fd(h / 8.0)
            miss = abs(fd2 - ad)
            limit = tol * max(abs(fd2), abs(ad)) + 1e3 * eps * (value + 1e-300) * 8.0 / h
            if not (miss > limit and abs(fd1 - fd2) < 0.1 * miss):
                return
        raise ValueError(
            "the gradient of loss_fn(model(inputs), targets) with respect to the model's "
            f"parameters disagrees with finite differences of the loss's values (directional "
            f"derivative {ad:.6g} by autograd, {fd2:.6g} by finite differences): part of the "
            "loss is invisible to autograd. Do not compute the loss (or the model) under "
            "torch.no_grad(), on detached outputs, or through numpy/.item()"
        )

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
