"""Training data for :func:`symnet.models.train`: datasets, samplers, rollout windows.

Three forms of ``data`` are accepted:

- a :class:`symnet.systems.Trajectories` (from ``System.generate``): its
  states and exact targets, flattened over time and trajectories (or cut
  into windows for ``target="rollout"``);
- a dict of tensors with a leading sample axis (keys below);
- a callable ``data(n, generator) -> dict`` that draws ``n`` fresh samples
  per step (the LNN recipe of Cranmer et al. 2020 samples fresh states).

Keys by target: ``"acceleration"``: ``q, qdot, qddot``; ``"time_derivative"``:
``q, p, dq_dt, dp_dt``; both optionally ``t`` of shape (M,). ``"rollout"``:
``q`` and ``qdot`` (second-order models) or ``p`` (first-order ones) of shape
(K, n, *S) along ``n`` trajectories, and ``t`` of shape (K, n).

Every tensor used is checked before training starts: a torch tensor of real
numbers, finite (a NaN or inf is a ValueError naming the key and the first
bad index, in the user's tensor), finite again after the cast to the model's
dtype (float64 data that overflows a float32 model is an error, not an inf),
and of the shape the target needs. The user's tensors are never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from symnet._util import format_shape

__all__ = ["TARGETS", "Dataset", "Sampler", "prepare", "first_nonfinite"]

TARGETS = ("acceleration", "time_derivative", "rollout")
KEYS = {
    "acceleration": ("q", "qdot", "qddot"),
    "time_derivative": ("q", "p", "dq_dt", "dp_dt"),
}


def first_nonfinite(x: Tensor) -> tuple[tuple[int, ...], str] | None:
    """``(index, "NaN" | "inf")`` of the first non-finite entry of ``x``, or None."""
    bad = ~torch.isfinite(x.detach())
    if not bool(bad.any()):
        return None
    idx = tuple(int(i) for i in bad.nonzero()[0])
    kind = "NaN" if bool(torch.isnan(x.detach()[idx])) else "inf"
    return idx, kind


def _as_dict(data: Any, name: str) -> dict[str, Any]:
    from symnet.systems import Trajectories

    if isinstance(data, Trajectories):
        return data.as_dict()
    if isinstance(data, Mapping):
        return dict(data)
    raise TypeError(
        f"{name} must be a symnet.systems.Trajectories, a dict of tensors or a callable "
        f"(n, generator) -> dict, got {type(data).__name__}"
    )


def _require(d: Mapping[str, Any], keys: tuple[str, ...], target: str, name: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise KeyError(
            f"target={target!r} needs the keys {', '.join(keys)} in {name}; missing "
            f"{', '.join(missing)} (got {', '.join(sorted(map(str, d)))})"
        )


def _cast(
    d: Mapping[str, Any], keys: tuple[str, ...], name: str, dtype: torch.dtype, device: Any
) -> dict[str, Tensor]:
    """The tensors at ``keys``, checked finite before and after the cast to ``dtype``."""
    out = {}
    for k in keys:
        x, label = d[k], f"{name}[{k!r}]"
        if not isinstance(x, Tensor):
            raise TypeError(f"{label} must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{label} must hold real numbers, got dtype {x.dtype}")
        bad = first_nonfinite(x) if torch.is_floating_point(x) else None
        if bad is not None:
            raise ValueError(
                f"{label} contains {bad[1]} (first at index {bad[0]}); expected finite values"
            )
        y = x.detach().to(dtype=dtype, device=device)
        bad = first_nonfinite(y)
        if bad is not None:
            value = float(x.detach()[bad[0]])
            raise ValueError(
                f"{label} is finite in {x.dtype} but not in {dtype}, the model's dtype (first at "
                f"index {bad[0]}, value {value:.6g}): rescale the data or train a model of a "
                "wider dtype (e.g. model.double())"
            )
        out[k] = y
    return out


def _check_shapes(
    d: dict[str, Tensor], keys: tuple[str, ...], S: tuple[int, ...], name: str, lead: tuple
) -> int:
    """All ``keys`` of shape ``(*L, *S)`` like ``q``, with ``len(L)`` in ``lead``; ``t`` of ``L``.

    Returns ``len(L)``.
    """
    q = d["q"]
    n_lead = q.dim() - len(S)
    if n_lead not in lead or tuple(q.shape[n_lead:]) != S:
        forms = " or ".join({1: "(M, *S)", 2: "(K, n, *S)"}[n] for n in lead)
        raise ValueError(
            f"{name}['q'] must have shape {forms} with S = {format_shape(S)} (the model's "
            f"config_shape), got {format_shape(q.shape)}"
        )
    for k in keys:
        if k not in ("q", "t") and d[k].shape != q.shape:
            raise ValueError(
                f"{name}[{k!r}] must have the shape of {name}['q'], {format_shape(q.shape)}, "
                f"got {format_shape(d[k].shape)}"
            )
    if "t" in d and d["t"].dim() > 0 and tuple(d["t"].shape) != tuple(q.shape[:n_lead]):
        raise ValueError(
            f"{name}['t'] must have shape {format_shape(q.shape[:n_lead])} (one time per "
            f"state), got {format_shape(d['t'].shape)}"
        )
    if "t" in d and d["t"].dim() == 0:
        d["t"] = d["t"].expand(q.shape[:n_lead])
    return n_lead


class Dataset:
    """A fixed set of ``M`` training samples: tensors with leading axis ``M``.

    Attributes
    ----------
    tensors : dict of str to Tensor
    size : int
        ``M``.
    dt : float or None
        Step between the states of a rollout window.
    """

    def __init__(
        self,
        tensors: dict[str, Tensor],
        dt: float | None = None,
        *,
        lead: tuple[int, int] | None = None,
        kind: str = "sample",
    ) -> None:
        sizes = {k: v.shape[0] for k, v in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"data tensors must share their first (sample) axis, got {sizes}")
        self.tensors, self.size, self.dt = tensors, next(iter(sizes.values())), dt
        self.lead, self.kind = lead, kind
        if self.size == 0:
            raise ValueError("data holds no samples")

    def describe(self, i: int) -> str:
        """Where sample ``i`` comes from, in the user's terms."""
        if self.lead is None:
            return f"sample {i} of the data"
        k, j = divmod(i, self.lead[1])
        if self.kind == "window":
            return f"the rollout window starting at time step {k} of trajectory {j}"
        return f"sample {i} of the data (time step {k} of trajectory {j})"

    def take(self, index: Tensor | slice) -> dict[str, Tensor]:
        """The samples at ``index``."""
        return {k: v[index] for k, v in self.tensors.items()}

    def batches(self, batch_size: int | None, generator: torch.Generator) -> list[Tensor]:
        """A shuffled partition of ``range(M)`` into batches (one epoch)."""
        perm = torch.randperm(self.size, generator=generator)
        if batch_size is None or batch_size >= self.size:
            return [perm]
        return list(perm.split(batch_size))


class Sampler:
    """Fresh samples every step from ``fn(n, generator) -> dict``, each draw checked."""

    def __init__(
        self,
        fn: Callable[..., dict[str, Tensor]],
        target: str,
        *,
        config_shape: tuple[int, ...],
        dtype: torch.dtype,
        device: Any,
        name: str = "data",
    ) -> None:
        self.fn, self.target = fn, target
        self.config_shape, self.dtype, self.device, self.name = config_shape, dtype, device, name
        self.dt = None

    def draw(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``n`` new samples (finite, of shape (n, *S), in the model's dtype)."""
        d = self.fn(n, generator)
        label = f"{self.name}(n, generator)"
        if not isinstance(d, Mapping):
            raise TypeError(f"the data callable must return a dict, got {type(d).__name__}")
        keys = KEYS[self.target]
        _require(d, keys, self.target, label)
        keys = (*keys, "t") if "t" in d else keys
        out = _cast(d, keys, label, self.dtype, self.device)
        _check_shapes(out, keys, self.config_shape, label, (1,))
        if out["q"].shape[0] != n:
            raise ValueError(
                f"the data callable was asked for {n} samples and returned "
                f"{out['q'].shape[0]} (q of shape {format_shape(out['q'].shape)})"
            )
        return out


def _windows(d: dict[str, Tensor], vkey: str, steps: int, dt: float | None, name: str) -> Dataset:
    """Cut trajectories of shape (K, n, *S) into windows (M, steps + 1, *S)."""
    q, v = d["q"], d[vkey]
    K = q.shape[0]
    if steps < 1 or steps >= K:
        raise ValueError(f"rollout_steps must be in [1, {K - 1}] for {K} recorded states")
    if dt is None:
        if "t" not in d:
            raise KeyError(f"target='rollout' needs 't' in {name} or rollout_dt=")
        t = d["t"].reshape(K, -1)
        gaps = t[1:] - t[:-1]
        dt = float(gaps[0, 0])
        if not dt > 0:
            raise ValueError(
                f"the time step of {name}['t'], t[1] - t[0] = {dt:.6g}, is not positive: "
                "pass rollout_dt= (> 0)"
            )
        if not torch.allclose(gaps, torch.full_like(gaps, dt), rtol=1e-4, atol=0.0):
            worst = float((gaps - dt).abs().max())
            raise ValueError(
                f"{name}['t'] is not evenly spaced (steps differ from {dt:.6g} by up to "
                f"{worst:.3g}); target='rollout' integrates with one fixed step: resample the "
                "data or pass rollout_dt="
            )
    starts = range(K - steps)
    out = {
        "q": torch.cat([q[k : k + steps + 1].transpose(0, 1) for k in starts]),
        "v": torch.cat([v[k : k + steps + 1].transpose(0, 1) for k in starts]),
    }
    if "t" in d:
        out["t"] = torch.cat([d["t"][k] for k in starts])
    return Dataset(out, dt, lead=(K - steps, q.shape[1]), kind="window")


def prepare(
    data: Any,
    target: str,
    model: Any,
    *,
    rollout_steps: int,
    rollout_dt: float | None,
    dtype: torch.dtype,
    device: torch.device,
    name: str = "data",
) -> Dataset | Sampler:
    """Turn ``data`` into a :class:`Dataset` or :class:`Sampler` cast to ``dtype``/``device``.

    ``name`` (``"data"`` or ``"val_data"``) is the argument named in errors.
    The tensors of ``data`` are read, never modified.
    """
    S = tuple(model.config_shape)
    if callable(data) and not isinstance(data, Mapping):
        if target == "rollout":
            raise ValueError(f"target='rollout' needs trajectories in {name}, not a callable")
        return Sampler(data, target, config_shape=S, dtype=dtype, device=device, name=name)
    raw = _as_dict(data, name)
    if target == "rollout":
        vkey = "qdot" if model.field.order == 2 else "p"
        keys: tuple[str, ...] = ("q", vkey)
        _require(raw, keys, "rollout", name)
        keys = (*keys, "t") if "t" in raw else keys
        d = _cast(raw, keys, name, dtype, device)
        _check_shapes(d, keys, S, name, (2,))
        return _windows(d, vkey, rollout_steps, rollout_dt, name)
    keys = KEYS[target]
    _require(raw, keys, target, name)
    keys = (*keys, "t") if "t" in raw else keys
    d = _cast(raw, keys, name, dtype, device)
    lead = _check_shapes(d, keys, S, name, (1, 2))
    if lead == 2:  # (K, n, *S) trajectories: merge time and trajectory axes
        shape = tuple(d["q"].shape[:2])
        d = {k: v.reshape(-1, *v.shape[2:]) for k, v in d.items()}
        return Dataset(d, lead=shape)
    return Dataset(d)
