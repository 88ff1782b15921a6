"""The smooth multilayer perceptron of the models: :class:`MLP` and its activations.

The learned scalars (Lagrangians, Hamiltonians, potentials) are differentiated
twice by the vector fields of :mod:`symnet.mechanics`, so the activations
offered here are smooth (no ReLU: its second derivative is zero almost
everywhere, which makes a learned mass matrix singular).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from symnet.models._options import integer

__all__ = ["MLP", "activation_factory", "check_activation", "ACTIVATIONS"]


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
    """``value`` as an int ``>= minimum`` (any integer type, not bool); errors name ``name``."""
    return integer(value, name, minimum=minimum)


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
        in_features = _positive_int("in_features", in_features)
        out_features = _positive_int("out_features", out_features)
        hidden = _positive_int("hidden", hidden)
        layers = _positive_int("layers", layers)
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


def check_activation(activation: Any) -> Any:
    """``activation`` if it is a known name or a callable (the error lists the names)."""
    activation_factory(activation)
    return activation
