"""Candidate symmetries from the structure of a traced model.

Private module. The rules (Kunin et al. 2021, section 3; each candidate is
then confirmed numerically by :func:`~symnet.learning.find_symmetries`):

- **translation, softmax**: the model returns the logits of a ``Linear`` and
  the loss is a softmax cross-entropy (or an unknown callable): every column
  ``W[:, j]`` and the bias shift all logits alike.
- **scale**: a ``Linear``/``Conv`` feeds a normalization (BatchNorm,
  InstanceNorm, GroupNorm, LayerNorm, RMSNorm) through positively homogeneous
  per-unit ops: each normalized group of its units (one unit for BatchNorm,
  the whole layer for LayerNorm) can be multiplied freely.
- **translation, normalization**: the same path through shift-commuting ops
  only, to a normalization that subtracts a mean: the bias of each normalized
  group (and, for ``Linear`` -> ``LayerNorm``, each weight column) shifts freely.
- **rescale**: a per-unit affine layer (``Linear``, ``Conv``, a normalization's
  affine part) reaches a ``Linear``/``Conv`` through positively homogeneous
  per-unit ops only (ReLU, LeakyReLU, PReLU, Identity, dropout, max/avg
  pooling, flatten): unit ``j``'s incoming weights and bias times ``a``, its
  outgoing weights over ``a``.

A path never branches (each intermediate output has one user), and a module
called more than once (shared weights) is never a candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch.nn.functional as F
from torch import nn

from symnet.learning._functional import NORM_TYPES
from symnet.learning._trace import Graph, Node
from symnet.learning.family import ParamSlice, SymmetryFamily

__all__ = ["Candidate", "candidates", "softmax_loss"]

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONVT = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_CHANNEL_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm)
_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.Dropout, nn.Dropout1d, nn.Dropout2d)
_ELEMENTWISE += (nn.Dropout3d,)
_MAX_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_MAX_POOLS += (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_AVG_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE_AVG = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
_F_ELEMENTWISE = {F.relu, F.relu_, F.leaky_relu, F.dropout}
_F_POOLS = {F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d}
_F_POOLS |= {F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d}
_F_POOLS |= {F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d}
_LAST_DIM_NORMS = (nn.LayerNorm, nn.RMSNorm) if hasattr(nn, "RMSNorm") else (nn.LayerNorm,)
_METADATA_METHODS = {"size", "dim", "numel", "shape"}

_NOT_SOFTMAX = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.NLLLoss)
_NOT_SOFTMAX += (nn.BCEWithLogitsLoss, nn.KLDivLoss, nn.PoissonNLLLoss, nn.GaussianNLLLoss)
_NOT_SOFTMAX += (nn.SoftMarginLoss, nn.MultiLabelSoftMarginLoss, nn.MultiMarginLoss)
_F_NOT_SOFTMAX = {F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.nll_loss, F.kl_div}
_F_NOT_SOFTMAX |= {F.binary_cross_entropy, F.binary_cross_entropy_with_logits}


def softmax_loss(loss_fn: Any) -> bool | None:
    """True for a softmax cross-entropy, False for a known other loss, None if unknown."""
    if isinstance(loss_fn, nn.CrossEntropyLoss) or loss_fn is F.cross_entropy:
        return True
    if isinstance(loss_fn, _NOT_SOFTMAX) or loss_fn in _F_NOT_SOFTMAX:
        return False
    return None


@dataclass
class Candidate:
    """A candidate family and the normalization whose ``eps`` may break it."""

    family: SymmetryFamily
    eps_layer: str | None = None
    eps: float = 0.0


@dataclass
class _Path:
    """Where a walk from a producer ended, and what it passed through."""

    end: Node | None  # first node that is not a per-unit op (None: the path branched)
    axis: int
    ndim: int
    block: int
    homogeneous: bool
    shift: bool
    ops: list[str]


def _flatten(state: list[int], in_shape: tuple[int, ...], start: int, end: int) -> bool:
    """Apply ``flatten(start, end)`` to the unit layout ``[axis, ndim, block]``."""
    ndim = len(in_shape)
    start, end = start % ndim, end % ndim
    axis = state[0]
    if start <= axis <= end:
        if axis != start:
            return False
        state[2] *= math.prod(in_shape[start + 1 : end + 1])
    elif axis > end:
        state[0] = axis - (end - start)
    state[1] = ndim - (end - start)
    return True


def _reshape(state: list[int], in_shape: tuple[int, ...], out: tuple[int, ...]) -> bool:
    if out == in_shape:
        return True
    for start in range(len(in_shape)):
        for end in range(start + 1, len(in_shape)):
            size = math.prod(in_shape[start : end + 1])
            if in_shape[:start] + (size,) + in_shape[end + 1 :] == out:
                return _flatten(state, in_shape, start, end)
    return False


def _step(node: Node, state: list[int]) -> tuple[bool, bool] | None:
    """Update ``state`` through a per-unit op: ``(homogeneous, shift)``, or None if not one."""
    m, f = node.target, node.target
    channel_first = state[0] == 1 and state[1] >= 3
    if node.op == "module":
        if isinstance(m, nn.Identity):
            return True, True
        if isinstance(m, _ELEMENTWISE):
            return True, False
        if isinstance(m, _MAX_POOLS + _ADAPTIVE_AVG):
            return (True, True) if channel_first and not getattr(m, "return_indices", 0) else None
        if isinstance(m, _AVG_POOLS):
            pads = m.padding if isinstance(m.padding, tuple) else (m.padding,)
            exact_mean = (not any(pads) or not m.count_include_pad) and not getattr(
                m, "divisor_override", None
            )
            return (True, exact_mean) if channel_first else None
        if isinstance(m, nn.Flatten) and node.in_shape is not None:
            ok = _flatten(state, node.in_shape, m.start_dim, m.end_dim)
            return (True, True) if ok else None
        return None
    if node.op == "function":
        if f in _F_ELEMENTWISE or getattr(f, "__name__", "") in ("relu", "relu_"):
            return True, False
        if f in _F_POOLS:
            return (True, False) if channel_first else None
        if getattr(f, "__name__", "") == "flatten" and node.in_shape is not None:
            start = node.args[0] if node.args else node.kwargs.get("start_dim", 0)
            end = node.args[1] if len(node.args) > 1 else node.kwargs.get("end_dim", -1)
            ok = _flatten(state, node.in_shape, int(start), int(end))
            return (True, True) if ok else None
        return None
    if node.op == "method":
        if f in ("relu", "relu_"):
            return True, False
        if f == "contiguous":
            return True, True
        if f in ("flatten", "view", "reshape") and node.in_shape and node.shape:
            ok = _reshape(state, node.in_shape, node.shape)
            return (True, True) if ok else None
    return None


def _users(graph: Graph, node: Node) -> list[int]:
    """Users of a node's output, not counting metadata reads (``x.size(0)``)."""
    out = []
    for u in node.users:
        if u >= 0:
            un = graph.nodes[u]
            if un.op == "method" and un.target in _METADATA_METHODS:
                continue
            if un.op == "function" and un.name in ("getattr", "len"):
                continue
        out.append(u)
    return out


def _walk(graph: Graph, start: Node, axis: int) -> _Path:
    ndim = len(start.shape) if start.shape else 0
    state = [axis % max(ndim, 1), ndim, 1]
    homogeneous, shift, ops = True, True, []
    cur = start
    while True:
        users = _users(graph, cur)
        if len(users) != 1 or users[0] < 0:
            return _Path(None, *state, homogeneous, shift, ops)
        nxt = graph.nodes[users[0]]
        others = [i for i in nxt.inputs if i != cur.index and graph.nodes[i].shape is not None]
        if nxt.first != cur.index or others:
            return _Path(None, *state, homogeneous, shift, ops)
        flags = _step(nxt, state)
        if flags is None:
            return _Path(nxt, *state, homogeneous, shift, ops)
        homogeneous, shift = homogeneous and flags[0], shift and flags[1]
        ops.append(nxt.name)
        cur = nxt


def _producer(node: Node) -> tuple[int, list[tuple[str, int]]] | None:
    """A per-unit affine layer: (unit axis of its output, [(param attribute, unit axis)])."""
    m = node.target
    if node.op != "module" or node.shape is None:
        return None
    params = [a for a in ("weight", "bias") if getattr(m, a, None) is not None]
    if isinstance(m, nn.Linear):
        return -1, [(a, 0) for a in params]
    if isinstance(m, _CONV):
        return 1, [(a, 0) for a in params]
    if isinstance(m, _CONVT) and m.groups == 1:
        return 1, [(a, 1 if a == "weight" else 0) for a in params]
    if isinstance(m, (*_CHANNEL_NORMS, nn.GroupNorm)) and params:
        return 1, [(a, 0) for a in params]
    if isinstance(m, _LAST_DIM_NORMS) and len(m.normalized_shape) == 1 and params:
        return -1, [(a, 0) for a in params]
    return None


def _consumer_axis(node: Node, path: _Path) -> int | None:
    """The weight axis of a linear consumer reached by ``path``, if compatible."""
    m = node.target
    if node.op != "module":
        return None
    if isinstance(m, nn.Linear) and path.axis == path.ndim - 1:
        return 1
    if isinstance(m, _CONV) and m.groups == 1 and path.axis == 1 and path.block == 1:
        return 1
    if isinstance(m, _CONVT) and m.groups == 1 and path.axis == 1 and path.block == 1:
        return 0
    return None


def _norm_group(node: Node, path: _Path) -> int | None:
    """Features per normalized group along the unit axis (0: the whole axis), or None."""
    m = node.target
    if isinstance(m, _CHANNEL_NORMS):
        return 1 if path.axis == 1 else None
    if isinstance(m, nn.GroupNorm):
        return m.num_channels // m.num_groups if path.axis == 1 else None
    if isinstance(m, NORM_TYPES) and hasattr(m, "normalized_shape"):
        k = len(m.normalized_shape)
        return 0 if path.axis >= path.ndim - k else None
    return None


def candidates(graph: Graph, softmax: bool | None) -> list[Candidate]:
    """Every candidate family the structure of ``graph`` suggests (see the module docstring)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in graph.nodes:
        if node.op == "module":
            for pname, p in node.target.named_parameters(recurse=False):
                shapes[f"{node.name}.{pname}"] = tuple(p.shape)
    out: list[Candidate] = []
    for node in graph.nodes:
        prod = _producer(node)
        if prod is None or graph.calls.get(node.name, 0) != 1:
            continue
        axis, params = prod
        P, n = node.name, node.shape[axis]
        mod = node.target
        linear_or_conv = isinstance(mod, (nn.Linear, *_CONV, *_CONVT))
        # softmax translation: the model returns this Linear's logits
        if (
            softmax is not False
            and isinstance(mod, nn.Linear)
            and graph.output == node.index
            and len(node.shape) == 2
            and n > 1
        ):
            n_in = shapes[f"{P}.weight"][1]
            name = f"translation {P}.weight columns -> softmax ({n_in} units)"
            out.append(_columns(P, shapes, name, "softmax cross-entropy"))
            if mod.bias is not None:
                fam = SymmetryFamily(
                    "translation",
                    [ParamSlice(f"{P}.bias", None)],
                    shapes,
                    name=f"translation {P}.bias -> softmax",
                    source="softmax cross-entropy: all logits shifted alike",
                )
                out.append(Candidate(fam))
        path = _walk(graph, node, axis)
        end = path.end
        if end is None:
            continue
        E = end.name
        # rescale through positively homogeneous per-unit ops
        w_axis = _consumer_axis(end, path)
        if w_axis is not None and path.homogeneous and graph.calls.get(E, 0) == 1:
            parts = [ParamSlice(f"{P}.{a}", ax) for a, ax in params]
            parts.append(ParamSlice(f"{E}.weight", w_axis, path.block, sign=-1))
            via = " -> ".join([P, *path.ops, E])
            fam = SymmetryFamily(
                "rescale",
                parts,
                shapes,
                name=f"rescale {P}/{E} ({n} units)",
                source=f"positively homogeneous path {via}",
            )
            out.append(Candidate(fam))
        # normalization: scale and translation
        group = _norm_group(end, path) if linear_or_conv else None
        if group is None:
            continue
        merge = n if group == 0 else math.lcm(path.block, group) // path.block
        if n % merge:
            continue
        units, kind_n = n // merge, type(end.target).__name__
        block_axis = [(f"{P}.{a}", ax) for a, ax in params]
        what = f"{E} ({kind_n}, {'whole layer' if units == 1 else f'{units} units'})"
        eps = float(getattr(end.target, "eps", 0.0) or 0.0)
        stats = end.target.training or getattr(end.target, "running_mean", None) is None
        mode = "" if stats else ", running statistics (eval mode)"
        if path.homogeneous:
            parts = [ParamSlice(p, None if units == 1 else ax, merge) for p, ax in block_axis]
            fam = SymmetryFamily(
                "scale",
                parts,
                shapes,
                name=f"scale {P} -> {what}",
                source=f"{E} ({kind_n}{mode}) normalizes the output of {P}",
            )
            out.append(Candidate(fam, E, eps))
        subtracts_mean = not (hasattr(nn, "RMSNorm") and isinstance(end.target, nn.RMSNorm))
        if path.shift and subtracts_mean and mod.bias is not None:
            fam = SymmetryFamily(
                "translation",
                [ParamSlice(f"{P}.bias", None if units == 1 else 0, merge)],
                shapes,
                name=f"translation {P}.bias -> {what}",
                source=f"{E} ({kind_n}{mode}) subtracts the mean of {P}'s output",
            )
            out.append(Candidate(fam))
        column_shift = path.shift and path.block == 1 and not path.ops
        if column_shift and isinstance(mod, nn.Linear) and group == 0 and path.ndim >= 2:
            if len(getattr(end.target, "normalized_shape", ())) == 1 and subtracts_mean:
                n_in = shapes[f"{P}.weight"][1]
                name = f"translation {P}.weight columns -> {E} ({kind_n}, {n_in} units)"
                out.append(_columns(P, shapes, name, f"{E} subtracts the mean"))
    return out


def _columns(P: str, shapes: dict, name: str, why: str) -> Candidate:
    fam = SymmetryFamily(
        "translation",
        [ParamSlice(f"{P}.weight", 1)],
        shapes,
        name=name,
        source=f"{why}: a weight column shifts every output alike",
    )
    return Candidate(fam)
