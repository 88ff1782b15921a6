"""The model as a data-flow graph of layer calls, in forward order.

Private module. ``trace(model, args, kwargs)`` returns a :class:`Graph`:
``torch.fx.symbolic_trace`` sees through ``nn.Sequential`` nesting, custom
modules and functional calls (``F.relu``, ``torch.flatten``); a model that fx
cannot trace (data-dependent control flow) is recorded with forward hooks on
its leaf modules instead, where two layers are connected only when one
receives the very tensor the other returned (a functional op between them,
invisible to hooks, disconnects them: no candidate, never a wrong one).
Shapes come from running the model once on the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["Node", "Graph", "trace"]


@dataclass
class Node:
    """One call in the forward pass.

    ``op`` is ``"input"``, ``"module"``, ``"function"``, ``"method"`` or
    ``"other"``; ``target`` the module object, function or method name;
    ``inputs`` the producer nodes of its tensor arguments in argument order
    (``first`` the producer of its first argument); ``shape`` its output shape.
    """

    index: int
    op: str
    target: Any
    name: str
    inputs: list[int] = field(default_factory=list)
    first: int | None = None
    users: list[int] = field(default_factory=list)
    shape: tuple[int, ...] | None = None
    in_shape: tuple[int, ...] | None = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


@dataclass
class Graph:
    """Nodes in forward order, the node whose output the model returns, call counts."""

    nodes: list[Node]
    output: int | None
    calls: dict[str, int]
    method: str


def _shape(x: Any) -> tuple[int, ...] | None:
    return tuple(int(s) for s in x.shape) if isinstance(x, Tensor) else None


def _fx_graph(model: nn.Module, args: tuple, kwargs: dict) -> Graph:
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    gm = torch.fx.symbolic_trace(model)
    if kwargs:
        raise TypeError("fx tracing with keyword inputs is not supported; using hooks")
    ShapeProp(gm).propagate(*args)
    index: dict[Any, int] = {}
    nodes: list[Node] = []
    calls: dict[str, int] = {}
    output: int | None = None
    for fx_node in gm.graph.nodes:
        if fx_node.op == "output":
            res = fx_node.args[0]
            output = index.get(res) if isinstance(res, torch.fx.Node) else None
            continue
        meta = fx_node.meta.get("tensor_meta")
        shape = tuple(int(s) for s in meta.shape) if hasattr(meta, "shape") else None
        op = {
            "placeholder": "input",
            "call_module": "module",
            "call_function": "function",
            "call_method": "method",
        }.get(fx_node.op, "other")
        target: Any = fx_node.target
        name = str(fx_node.target)
        if op == "module":
            target = gm.get_submodule(fx_node.target)
            calls[name] = calls.get(name, 0) + 1
        elif op == "function":
            name = getattr(fx_node.target, "__name__", str(fx_node.target))
        node = Node(len(nodes), op, target, name, shape=shape)
        node.inputs = [index[n] for n in fx_node.all_input_nodes if n in index]
        first = fx_node.args[0] if fx_node.args else None
        node.first = index.get(first) if isinstance(first, torch.fx.Node) else None
        if node.first is not None:
            node.in_shape = nodes[node.first].shape
        node.args = tuple(fx_node.args[1:])
        node.kwargs = dict(fx_node.kwargs)
        index[fx_node] = node.index
        nodes.append(node)
    for node in nodes:
        for i in node.inputs:
            nodes[i].users.append(node.index)
    # the output node counts as a user of what the model returns
    if output is not None:
        nodes[output].users.append(-1)
    return Graph(nodes, output, calls, "torch.fx")


def _hook_graph(model: nn.Module, args: tuple, kwargs: dict) -> Graph:
    names = {m: n for n, m in model.named_modules()}
    records: list[tuple[str, nn.Module, list[Tensor], Any]] = []

    def hook(mod: nn.Module, inp: tuple, out: Any) -> None:
        records.append((names[mod], mod, [t for t in inp if isinstance(t, Tensor)], out))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            result = model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    # `records` keeps every recorded tensor alive during the pass: ids are never reused
    nodes: list[Node] = []
    producer: dict[int, int] = {}
    inputs = [t for t in (*args, *kwargs.values()) if isinstance(t, Tensor)]
    for t in inputs:
        producer[id(t)] = len(nodes)
        nodes.append(Node(len(nodes), "input", None, "input", shape=_shape(t)))
    calls: dict[str, int] = {}
    for name, mod, tensors, out in records:
        calls[name] = calls.get(name, 0) + 1
        node = Node(len(nodes), "module", mod, name, shape=_shape(out))
        node.inputs = [producer[id(t)] for t in tensors if id(t) in producer]
        if tensors and id(tensors[0]) in producer:
            node.first = producer[id(tensors[0])]
            node.in_shape = _shape(tensors[0])
        elif tensors:
            # produced by something the hooks cannot see (a functional op)
            node.first = None
        nodes.append(node)
        if isinstance(out, Tensor):
            producer[id(out)] = node.index
    for node in nodes:
        for i in node.inputs:
            nodes[i].users.append(node.index)
    output = producer.get(id(result)) if isinstance(result, Tensor) else None
    if output is not None:
        nodes[output].users.append(-1)
    return Graph(nodes, output, calls, "forward hooks")


def trace(model: nn.Module, args: tuple, kwargs: dict) -> Graph:
    """The forward pass of ``model`` on ``(args, kwargs)`` as a :class:`Graph`.

    Tries ``torch.fx.symbolic_trace`` first and falls back to forward hooks.
    Runs the model (a copy: the caller passes one) once or twice.
    """
    try:
        return _fx_graph(model, args, kwargs)
    except Exception:  # fx raises many kinds of errors on untraceable code
        pass
    return _hook_graph(model, args, kwargs)
