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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = ["TARGETS", "Dataset", "Sampler", "prepare"]

TARGETS = ("acceleration", "time_derivative", "rollout")
KEYS = {
    "acceleration": ("q", "qdot", "qddot"),
    "time_derivative": ("q", "p", "dq_dt", "dp_dt"),
}


def _as_dict(data: Any) -> dict[str, Tensor]:
    from symnet.systems import Trajectories

    if isinstance(data, Trajectories):
        return data.as_dict()
    if isinstance(data, dict):
        return dict(data)
    raise TypeError(
        "data must be a symnet.systems.Trajectories, a dict of tensors or a callable "
        f"(n, generator) -> dict, got {type(data).__name__}"
    )


def _require(d: dict[str, Tensor], keys: tuple[str, ...], target: str) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise KeyError(
            f"target={target!r} needs the keys {', '.join(keys)}; missing {', '.join(missing)} "
            f"(got {', '.join(sorted(d))})"
        )


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

    def __init__(self, tensors: dict[str, Tensor], dt: float | None = None) -> None:
        sizes = {k: v.shape[0] for k, v in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"data tensors must share their first (sample) axis, got {sizes}")
        self.tensors, self.size, self.dt = tensors, next(iter(sizes.values())), dt
        if self.size == 0:
            raise ValueError("data holds no samples")

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
    """Fresh samples every step from ``fn(n, generator) -> dict``."""

    def __init__(self, fn: Callable[..., dict[str, Tensor]], target: str, cast: Callable) -> None:
        self.fn, self.target, self.cast = fn, target, cast
        self.dt = None

    def draw(self, n: int, generator: torch.Generator) -> dict[str, Tensor]:
        """``n`` new samples."""
        d = self.fn(n, generator)
        if not isinstance(d, dict):
            raise TypeError(f"the data callable must return a dict, got {type(d).__name__}")
        _require(d, KEYS[self.target], self.target)
        return self.cast(d)


def _windows(d: dict[str, Tensor], vkey: str, steps: int, dt: float | None) -> Dataset:
    """Cut trajectories of shape (K, n, *S) into windows (M, steps + 1, *S)."""
    _require(d, ("q", vkey), "rollout")
    q, v = d["q"], d[vkey]
    if q.dim() < 3:
        raise ValueError(
            f"target='rollout' needs trajectories of shape (K, n, *S), got q {tuple(q.shape)}"
        )
    K = q.shape[0]
    if steps < 1 or steps >= K:
        raise ValueError(f"rollout_steps must be in [1, {K - 1}] for {K} recorded states")
    if dt is None:
        if "t" not in d:
            raise KeyError("target='rollout' needs 't' in the data or rollout_dt=")
        t = d["t"]
        dt = float(t[1].flatten()[0] - t[0].flatten()[0])
    starts = range(K - steps)
    out = {
        "q": torch.cat([q[k : k + steps + 1].transpose(0, 1) for k in starts]),
        "v": torch.cat([v[k : k + steps + 1].transpose(0, 1) for k in starts]),
    }
    if "t" in d:
        out["t"] = torch.cat([d["t"][k] for k in starts])
    return Dataset(out, dt)


def prepare(
    data: Any,
    target: str,
    model: Any,
    *,
    rollout_steps: int,
    rollout_dt: float | None,
    dtype: torch.dtype,
    device: torch.device,
) -> Dataset | Sampler:
    """Turn ``data`` into a :class:`Dataset` or :class:`Sampler` cast to ``dtype``/``device``."""

    def cast(d: dict[str, Tensor]) -> dict[str, Tensor]:
        return {
            k: v.detach().to(dtype=dtype, device=device)
            for k, v in d.items()
            if isinstance(v, Tensor)
        }

    if callable(data) and not isinstance(data, dict):
        if target == "rollout":
            raise ValueError("target='rollout' needs trajectories, not a sampler callable")
        return Sampler(data, target, cast)
    d = cast(_as_dict(data))
    if target == "rollout":
        vkey = "qdot" if model.field.order == 2 else "p"
        return _windows(d, vkey, rollout_steps, rollout_dt)
    keys = KEYS[target]
    _require(d, keys, target)
    keep = {k: d[k] for k in (*keys, "t") if k in d}
    lead = keep["q"].dim() - len(model.config_shape)
    if lead == 2:  # (K, n, *S) trajectories: merge time and trajectory axes
        keep = {k: v.reshape(-1, *v.shape[2:]) for k, v in keep.items()}
    elif lead != 1:
        raise ValueError(
            f"q must have shape (M, *S) or (K, n, *S) with S = {model.config_shape}, got "
            f"{tuple(keep['q'].shape)}"
        )
    return Dataset(keep)
