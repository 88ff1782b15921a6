"""Building blocks shared by the models: smooth MLPs and the abstract :class:`PhysicsModel`.

The learned scalars (Lagrangians, Hamiltonians, potentials) are differentiated
twice by the vector fields of :mod:`symnet.mechanics`, so the activations
offered here are smooth (no ReLU: its second derivative is zero almost
everywhere, which makes a learned mass matrix singular).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from symnet._util import format_shape

__all__ = ["MLP", "PhysicsModel", "activation_factory", "ACTIVATIONS"]


class Sin(nn.Module):
    """Elementwise ``sin`` (periodic features, forcing terms)."""

    def forward(self, x: Tensor) -> Tensor:
        """``sin(x)``, same shape as ``x``."""
        return torch.sin(x)


#: Names accepted by ``activation=`` (all smooth: twice differentiable everywhere).
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "softplus": nn.Softplus,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
    "sin": Sin,
}


def activation_factory(activation: str | Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    """A factory of the named activation (a callable is returned unchanged).

    Raises
    ------
    ValueError
        Unknown name; the message lists :data:`ACTIVATIONS`.
    """
    if callable(activation) and not isinstance(activation, str):
        return activation
    try:
        return ACTIVATIONS[activation]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown activation {activation!r}; available: {', '.join(sorted(ACTIVATIONS))} "
            "(smooth ones only: a learned scalar is differentiated twice)"
        ) from None


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class MLP(nn.Sequential):
    """``in -> [Linear, activation] x layers -> Linear -> out``.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input and output (last axis).
    hidden : int
        Width of every hidden layer.
    layers : int
        Number of hidden layers (``>= 1``).
    activation : str or callable
        A name of :data:`ACTIVATIONS` or an ``nn.Module`` factory.

    Examples
    --------
    >>> import torch
    >>> MLP(4, 1, hidden=8, layers=2)(torch.randn(3, 4)).shape
    torch.Size([3, 1])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 128,
        layers: int = 2,
        activation: str | Callable[[], nn.Module] = "softplus",
    ) -> None:
        make = activation_factory(activation)
        _positive_int("in_features", in_features)
        _positive_int("out_features", out_features)
        _positive_int("hidden", hidden)
        _positive_int("layers", layers)
        sizes = [in_features] + [hidden] * layers
        mods: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            mods += [nn.Linear(a, b), make()]
        mods.append(nn.Linear(sizes[-1], out_features))
        super().__init__(*mods)
        self.in_features, self.out_features = in_features, out_features
        self.hidden, self.layers = hidden, layers
        self.activation = activation if isinstance(activation, str) else make.__name__

    def __repr__(self) -> str:
        return (
            f"MLP({self.in_features} -> {self.hidden}x{self.layers} {self.activation} -> "
            f"{self.out_features})"
        )


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

    def _check(self, q: Tensor, v: Tensor, names: tuple[str, str] = ("q", "qdot")) -> None:
        S = self.config_shape
        for x, name in zip((q, v), names, strict=True):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
            if x.dim() != len(S) + 1 or tuple(x.shape[1:]) != S:
                raise ValueError(
                    f"{type(self).__name__}: {name} must have shape (B, "
                    f"{', '.join(map(str, S))}{',' if len(S) == 1 else ''}), got "
                    f"{format_shape(x.shape)}"
                )

    def _repr_args(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._repr_args()})"


def config_shape_arg(config_shape: Any) -> tuple[int, ...]:
    """Validate ``config_shape``: a non-empty tuple of positive ints."""
    if isinstance(config_shape, int):
        config_shape = (config_shape,)
    try:
        shape = tuple(config_shape)
    except TypeError:
        raise TypeError(f"config_shape must be a tuple of ints, got {config_shape!r}") from None
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"config_shape must be a non-empty tuple of positive ints, got {shape!r}")
    return shape


def flat_cat(q: Tensor, v: Tensor) -> Tensor:
    """``(q, v)`` of shape (B, *S) flattened and concatenated: shape (B, 2 n)."""
    return torch.cat([q.flatten(1), v.flatten(1)], -1)


def time_column(t: Tensor | float | None, like: Tensor) -> Tensor:
    """``t`` as shape ``(B,)`` in the dtype and device of ``like`` (``None`` means 0)."""
    B = like.shape[0]
    if t is None:
        return like.new_zeros(B)
    if isinstance(t, Tensor):
        t = t.to(dtype=like.dtype, device=like.device)
        return t.expand(B) if t.dim() == 0 else t.reshape(B)
    return torch.full((B,), float(t), dtype=like.dtype, device=like.device)
