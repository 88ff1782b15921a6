"""Models with known parameter-space symmetries, and the exact sets they have."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def classification(n: int = 16, d: int = 5, classes: int = 3, seed: int = 0):
    g = gen(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)


def regression(n: int = 16, d: int = 5, out: int = 3, seed: int = 0):
    g = gen(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, out, generator=g)


def z_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy plus (log Z)^2: breaks the softmax translation."""
    # written so that torch.func.jvp needs no decomposition that imports torch._dynamo
    # (logsumexp, or a product with a Python float, would: seconds, once per process)
    log_z = logits.exp().sum(-1).log()
    return F.cross_entropy(logits, targets) + (log_z * log_z).mean()


def columns(layer: str, n: int) -> set[str]:
    return {f"translation: {layer}.weight[:,{j}]" for j in range(n)}


def softmax_set(layer: str, n_in: int) -> set[str]:
    return columns(layer, n_in) | {f"translation: {layer}.bias"}


def rescale_set(a: str, b: str, n: int, *, conv_in: bool = False, conv_out: bool = False):
    w_in = "[{j},...]" if conv_in else "[{j},:]"
    w_out = "[:,{j},...]" if conv_out else "[:,{j}]"
    return {
        f"rescale: {a}.weight{w_in.format(j=j)}, {a}.bias[{j}] / {b}.weight{w_out.format(j=j)}"
        for j in range(n)
    }


def norm_affine_rescale(norm: str, b: str, n: int, out_fmt: str = "[:,{j}]") -> set[str]:
    return {
        f"rescale: {norm}.weight[{j}], {norm}.bias[{j}] / {b}.weight{out_fmt.format(j=j)}"
        for j in range(n)
    }


def bn_set(layer: str, n: int, *, conv: bool = False) -> set[str]:
    w = "[{j},...]" if conv else "[{j},:]"
    scale = {f"scale: {layer}.weight{w.format(j=j)}, {layer}.bias[{j}]" for j in range(n)}
    return scale | {f"translation: {layer}.bias[{j}]" for j in range(n)}


def bn_mlp(eps: float = 1e-5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8, eps=eps), nn.ReLU(), nn.Linear(8, 3))


BN_MLP = bn_set("0", 8) | norm_affine_rescale("1", "3", 8) | softmax_set("3", 8)


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 3),
    )


SMALL_CNN = (
    bn_set("0", 4, conv=True)
    | norm_affine_rescale("1", "3", 4, "[:,{j},...]")
    | bn_set("3", 6, conv=True)
    | {f"rescale: 4.weight[{j}], 4.bias[{j}] / 8.weight[:,{4 * j}:{4 * j + 4}]" for j in range(6)}
    | softmax_set("8", 24)
)


def layernorm_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.ReLU(), nn.Linear(8, 3))


LAYERNORM_NET = (
    {"scale: 0.weight, 0.bias", "translation: 0.bias"}
    | columns("0", 5)
    | norm_affine_rescale("1", "3", 8)
)


class Custom(nn.Module):
    """A custom module: functional ReLU, a nested Sequential, a LeakyReLU."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(5, 6)
        self.block = nn.Sequential(nn.Sequential(nn.Linear(6, 7)), nn.LeakyReLU(0.1))
        self.head = nn.Linear(7, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(F.relu(self.fc1(x))))


CUSTOM = rescale_set("fc1", "block.0.0", 6) | rescale_set("block.0.0", "head", 7)


class Untraceable(Custom):
    """Data-dependent control flow: torch.fx cannot trace it, forward hooks can."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        if float(h.detach().sum()) > -1e30:  # always true, but fx cannot know
            h = self.block(h)
        return self.head(h)


UNTRACEABLE = rescale_set("fc1", "block.0.0", 6) | rescale_set("block.0.0", "head", 7)


def deep_mlp(eps: float = 1e-300) -> nn.Module:
    """All three kinds of symmetry; a tiny BatchNorm eps makes the scale exact."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 8),
        nn.BatchNorm1d(8, eps=eps),
        nn.ReLU(),
        nn.Linear(8, 8),
        nn.ReLU(),
        nn.Linear(8, 4),
    )


def minibatches(n: int = 24, d: int = 6, classes: int = 4, seed: int = 1):
    """A callable step -> random minibatch, reproducible."""
    g = gen(seed)

    def batch(_step: int):
        return torch.randn(n, d, generator=g), torch.randint(0, classes, (n,), generator=g)

    return batch
