"""Layers on sets of particles: permutation-equivariant linear maps and Deep Sets.

Both act on per-particle features laid out as symnet's ``scalar`` kind,
``(..., N, C)`` with the particle axis at ``-2``, and accept an optional mask
``(..., N)`` (True or 1 for real particles, False or 0 for padding) so that
sets of different sizes can share a batch.

:class:`PermEquivariantLinear` is the most general linear S_N-equivariant map
between per-particle features, ``y_i = A x_i + B pool_j(x_j) + c`` (Zaheer et
al. 2017, Lemma 3; Maron et al. 2019 for the basis): its weight space is the
``2 C_in C_out``-dimensional nullspace that :class:`~symnet.nn.EquivariantLinear`
finds for ``PermRep(N) * (C_in * Scalar) -> PermRep(N) * (C_out * Scalar)``.
:class:`DeepSets` is the invariant model ``rho(sum_i phi(x_i))`` of Zaheer et
al. 2017, Theorem 2.

References
----------
M. Zaheer, S. Kottur, S. Ravanbakhsh, B. Poczos, R. Salakhutdinov, A. Smola,
"Deep Sets", NeurIPS 2017.
H. Maron, H. Ben-Hamu, N. Shamir, Y. Lipman, "Invariant and equivariant graph
networks", ICLR 2019.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import Tensor, nn

from symnet.groups import Group, Permutation
from symnet.nn._checks import check_input

__all__ = ["PermEquivariantLinear", "DeepSets"]

_REDUCTIONS = ("mean", "sum")


def _check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return reduction


def _check_features(x: Tensor, features: int, owner: str) -> None:
    if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[-1] != features:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{owner} expects x of shape (..., N, {features}), got {got}")


def _masked(x: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """``x`` with padded entries set to 0, and the mask as weights ``(..., N, 1)``.

    Padded entries may hold anything, NaN or inf included: they are replaced
    before any arithmetic (``torch.where``), so that neither the outputs nor
    the gradients of the real particles see them. Without a mask ``x`` is
    returned as is and the weights are None.
    """
    if mask is None:
        return x, None
    if not isinstance(mask, Tensor) or mask.shape != x.shape[:-1]:
        got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(
            f"mask must have shape {tuple(x.shape[:-1])} (x without its feature axis), got {got}"
        )
    keep = (mask if mask.dtype == torch.bool else mask != 0).unsqueeze(-1)
    return torch.where(keep, x, 0.0), keep.to(x.dtype)


def _check_particles(x: Tensor, mask: Tensor | None, reduction: str, owner: str) -> None:
    if reduction == "mean" and mask is None and x.shape[-2] == 0:
        raise ValueError(
            f"x has N = 0 particles (shape {tuple(x.shape)}): {owner}'s reduction='mean' over no "
            f"particles is undefined; use reduction='sum' (the sum over no particles is 0), or "
            f"pad the sets and pass a mask (a set without real particles pools to 0)"
        )


def _pool(x: Tensor, m: Tensor | None, reduction: str) -> Tensor:
    """Masked sum or mean over the particle axis: ``(..., N, C) -> (..., C)``."""
    if m is None:
        return x.sum(-2) if reduction == "sum" else x.mean(-2)
    total = (x * m).sum(-2)
    if reduction == "sum":
        return total
    return total / m.sum(-2).clamp_min(1.0)


class PermEquivariantLinear(nn.Module):
    """``y_i = A x_i + B pool_j x_j + c``: the general S_N-equivariant linear layer.

    Parameters
    ----------
    in_features, out_features : int
        Channels ``C_in`` and ``C_out`` per particle.
    bias : bool
        Learn ``c`` (one value per output channel, shared by the particles).
    reduction : {"mean", "sum"}
        The pooling over particles; both span the same function space for a
        fixed ``N``, the mean keeps the scale independent of ``N``.

    Attributes
    ----------
    group, in_kinds, out_kinds
        ``Permutation()``, ``("scalar",)``, ``("scalar",)``: the declaration
        :func:`~symnet.testing.assert_equivariant` reads.

    Examples
    --------
    >>> import torch
    >>> layer = PermEquivariantLinear(3, 8)
    >>> layer
    PermEquivariantLinear(in_features=3, out_features=8, reduction='mean', bias=True)
    >>> layer(torch.randn(2, 5, 3)).shape
    torch.Size([2, 5, 8])
    """

    group: ClassVar[Group] = Permutation()
    in_kinds: ClassVar[tuple[str, ...]] = ("scalar",)
    out_kinds: ClassVar[tuple[str, ...]] = ("scalar",)

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.reduction = _check_reduction(reduction)
        self.own = nn.Linear(in_features, out_features, bias=bias)  # A and c
        self.pooled = nn.Linear(in_features, out_features, bias=False)  # B

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Apply the layer.

        Parameters
        ----------
        x : Tensor
            Per-particle features, shape ``(..., N, C_in)``.
        mask : Tensor, optional
            Shape ``(..., N)``, bool or 0/1: padded particles (0) are left out
            of the pooling and their outputs are set to zero. Their entries
            may hold anything, NaN included: they never reach the outputs or
            the gradients.

        Returns
        -------
        Tensor
            Shape ``(..., N, C_out)``.
        """
        _check_features(x, self.in_features, type(self).__name__)
        check_input(x, "x", self.own.weight, type(self).__name__)
        x, m = _masked(x, mask)
        y = self.own(x) + self.pooled(_pool(x, m, self.reduction)).unsqueeze(-2)
        return y if m is None else y * m

    def extra_repr(self) -> str:
        """Sizes, pooling and bias."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"reduction={self.reduction!r}, bias={self.own.bias is not None}"
        )

    def __repr__(self) -> str:  # one line: A and B are implementation details
        return f"{type(self).__name__}({self.extra_repr()})"


def _mlp(sizes: list[int], activation: Callable[[], nn.Module]) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them (none at the end)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class DeepSets(nn.Module):
    """The permutation-invariant model ``rho(pool_i phi(x_i))`` (Zaheer et al. 2017).

    ``phi`` and ``rho`` are MLPs ending in a linear layer; the activation is
    applied once more to the pooled features, before ``rho``.

    Parameters
    ----------
    in_features : int
        Channels per particle ``C``.
    hidden : int
        Width of the hidden layers and of the pooled representation.
    out_features : int
        Size of the invariant output.
    phi_layers, rho_layers : int
        Number of linear layers of the per-particle encoder ``phi`` and of the
        decoder ``rho`` (at least 1 each).
    reduction : {"sum", "mean"}
        The pooling (sum is the universal form of the theorem; mean keeps the
        scale independent of ``N``).
    activation : callable
        Factory of the nonlinearity, default ``nn.SiLU`` (smooth, so that the
        Lie-derivative checks of :mod:`symnet.testing` see a smooth model).

    Attributes
    ----------
    group, in_kinds, out_kinds
        ``Permutation()``, ``("scalar",)``, ``("global",)``: the output is
        invariant; :func:`~symnet.testing.assert_equivariant` reads them.

    Examples
    --------
    >>> import torch
    >>> from symnet.testing import assert_equivariant
    >>> model = DeepSets(3, 16, 2)
    >>> x = torch.randn(4, 7, 3)
    >>> model(x).shape
    torch.Size([4, 2])
    >>> assert_equivariant(model, x).passed
    True
    """

    group: ClassVar[Group] = Permutation()
    in_kinds: ClassVar[tuple[str, ...]] = ("scalar",)
    out_kinds: ClassVar[tuple[str, ...]] = ("global",)

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int,
        *,
        phi_layers: int = 2,
        rho_layers: int = 2,
        reduction: str = "sum",
        activation: Callable[[], nn.Module] = nn.SiLU,
    ) -> None:
        super().__init__()
        if phi_layers < 1 or rho_layers < 1:
            raise ValueError(
                f"phi_layers and rho_layers must be >= 1, got {phi_layers} and {rho_layers}"
            )
        self.in_features, self.hidden, self.out_features = in_features, hidden, out_features
        self.reduction = _check_reduction(reduction)
        self.phi = _mlp([in_features] + [hidden] * phi_layers, activation)
        self.act = activation()
        self.rho = _mlp([hidden] * rho_layers + [out_features], activation)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Evaluate the model.

        Parameters
        ----------
        x : Tensor
            Per-particle features, shape ``(..., N, C)``.
        mask : Tensor, optional
            Shape ``(..., N)``, bool or 0/1; padded particles (0) are left out
            (their entries may hold anything, NaN included). A set without
            real particles pools to 0, with either reduction.

        Returns
        -------
        Tensor
            Shape ``(..., out_features)``, invariant under permutations of the
            (unmasked) particles.

        Raises
        ------
        TypeError
            ``x`` is not floating point or not in the dtype of the parameters
            (cast one of them: ``x.float()`` or ``model.double()``).
        ValueError
            ``x`` has the wrong number of features, or (``reduction="mean"``,
            no mask) no particles: the mean over an empty set is undefined.
        """
        _check_features(x, self.in_features, type(self).__name__)
        check_input(x, "x", self.phi[0].weight, type(self).__name__)
        _check_particles(x, mask, self.reduction, type(self).__name__)
        x, m = _masked(x, mask)
        pooled = _pool(self.phi(x), m, self.reduction)
        return self.rho(self.act(pooled))

    def extra_repr(self) -> str:
        """The pooling."""
        return f"reduction={self.reduction!r}"
