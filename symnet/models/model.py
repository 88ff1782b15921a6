"""The abstract :class:`PhysicsModel` and the argument checks every model shares.

Every model of :mod:`symnet.models` validates ``config_shape``, ``hidden``,
``layers`` and ``activation`` the same way and builds its default networks
with one :class:`~symnet.models.mlp.MLP` builder
(:meth:`PhysicsModel._init_network_options`, :meth:`PhysicsModel._mlp`,
:meth:`PhysicsModel._module`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from symnet._util import format_shape
from symnet.models._options import check_input_dtype, integer
from symnet.models.mlp import MLP, check_activation

__all__ = ["PhysicsModel", "config_shape_arg", "flat_cat", "scalar_output", "time_column"]


class PhysicsModel(nn.Module):
    """Abstract base of the models of :mod:`symnet.models`.

    Class attributes
    ----------------
    form : str
        ``"lagrangian"`` (states ``(q, qdot)``, learns accelerations) or
        ``"hamiltonian"`` (states ``(q, p)``, learns time derivatives).
    default_target : str
        What :func:`~symnet.models.train` fits when no ``target`` is given.

    Attributes
    ----------
    config_shape : tuple of int
        ``S``, the shape of one configuration ``q``.
    """

    form: ClassVar[str]
    default_target: ClassVar[str]
    config_shape: tuple[int, ...]

    @property
    def n(self) -> int:
        """``prod(S)``, the number of degrees of freedom."""
        return math.prod(self.config_shape)

    @property
    def field(self) -> Any:
        """The dynamics as a :class:`symnet.mechanics.VectorField` for rollouts."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Constructor arguments (what :func:`~symnet.models.load_checkpoint` rebuilds from)."""
        return {}

    # ------------------------------------------------------ shared construction
    def _init_network_options(
        self,
        config_shape: Any,
        hidden: Any,
        layers: Any,
        activation: str | Callable[[], nn.Module],
    ) -> None:
        """Validate and store ``config_shape``, ``hidden``, ``layers`` and ``activation``."""
        self.config_shape = config_shape_arg(config_shape)
        self.hidden = integer(hidden, "hidden", minimum=1)
        self.layers = integer(layers, "layers", minimum=1)
        self.activation = check_activation(activation)

    def _mlp(self, in_features: int, out_features: int) -> MLP:
        """An :class:`~symnet.models.mlp.MLP` of the model's width, depth and activation."""
        return MLP(in_features, out_features, self.hidden, self.layers, self.activation)

    @staticmethod
    def _module(module: Any) -> nn.Module:
        """A user's ``module=``, checked to be an ``nn.Module``."""
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        return module

    def _network_config(self) -> dict[str, Any]:
        """The shared part of :meth:`config` (``config_shape``, ``hidden``, ``layers``, ...)."""
        return {
            "config_shape": self.config_shape,
            "hidden": self.hidden,
            "layers": self.layers,
            "activation": self.activation,
        }

    def _check(self, q: Tensor, v: Tensor, names: tuple[str, str] = ("q", "qdot")) -> None:
        """Shapes (B, *S), equal batch sizes and the model's dtype, or an error naming the input."""
        S = self.config_shape
        for x, name in zip((q, v), names, strict=True):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if not torch.is_floating_point(x):
                raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
            if x.dim() != len(S) + 1 or tuple(x.shape[1:]) != S:
                raise ValueError(
                    f"{type(self).__name__}: {name} must have shape (B, "
                    f"{', '.join(map(str, S))}{',' if len(S) == 1 else ''}), got "
                    f"{format_shape(x.shape)}"
                )
        if q.shape[0] != v.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: {names[0]} and {names[1]} must have the same batch "
                f"size, got {format_shape(q.shape)} and {format_shape(v.shape)}"
            )
        self._check_dtype((names[0], q), (names[1], v))

    def _check_dtype(self, *tensors: tuple[str, Any]) -> None:
        """TypeError (with the fix) when a floating input's dtype is not the model's."""
        check_input_dtype(self, *tensors)

    def _repr_args(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_args()})"


def config_shape_arg(config_shape: Any) -> tuple[int, ...]:
    """Validate ``config_shape``: a non-empty tuple of positive ints (any integer type).

    A single integer ``n`` means ``(n,)``. The result holds plain Python ints.
    """
    expected = f"config_shape must be a non-empty tuple of positive ints, got {config_shape!r}"
    if isinstance(config_shape, (str, bytes)):
        raise TypeError(expected)
    if hasattr(config_shape, "__index__") and not isinstance(config_shape, (bool, np.bool_)):
        raw: tuple[Any, ...] = (config_shape,)
    else:
        try:
            raw = tuple(config_shape)
        except TypeError:
            raise TypeError(expected) from None
    try:
        shape = tuple(integer(s, "config_shape", minimum=1) for s in raw)
    except (TypeError, ValueError):
        raise ValueError(expected) from None
    if not shape:
        raise ValueError(expected)
    return shape


def scalar_output(out: Any, q: Tensor, what: str) -> Tensor:
    """A custom module's scalar ``out`` as shape (B,) (a trailing axis of 1 is dropped).

    Raises
    ------
    ValueError
        ``out`` is not a tensor of shape (B,) or (B, 1), ``B = q.shape[0]``.
    """
    if isinstance(out, Tensor) and out.dim() == 2 and out.shape[-1] == 1:
        out = out.squeeze(-1)
    if not isinstance(out, Tensor) or tuple(out.shape) != (q.shape[0],):
        got = format_shape(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ValueError(
            f"the module must return {what}, one scalar per state: shape (B,) = "
            f"{format_shape((q.shape[0],))} (or (B, 1)), got {got}"
        )
    return out


def flat_cat(q: Tensor, v: Tensor) -> Tensor:
    """``(q, v)`` of shape (B, *S) flattened and concatenated: shape (B, 2 n)."""
    return torch.cat([q.flatten(1), v.flatten(1)], -1)


def time_column(t: Tensor | float | None, like: Tensor) -> Tensor:
    """``t`` as shape ``(B,)`` in the dtype and device of ``like`` (``None`` means 0)."""
    B = like.shape[0]
    if t is None:
        return like.new_zeros(B)
    if isinstance(t, Tensor):
        if t.dim() > 1 or (t.dim() == 1 and t.shape[0] != B):
            raise ValueError(
                f"t must be a float or a tensor of shape () or (B,) = ({B},), got "
                f"{format_shape(t.shape)}"
            )
        t = t.to(dtype=like.dtype, device=like.device)
        return t.expand(B) if t.dim() == 0 else t
    return torch.full((B,), float(t), dtype=like.dtype, device=like.device)
