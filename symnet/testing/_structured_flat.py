"""Flat graph layouts: ``(sum N_i, ...)`` tensors with a ``batch`` vector.

Private module, used by :func:`symnet.testing._structured.adapt`. This is
the layout of PyG models called on tensors, ``SchNet.forward(z, pos,
batch)``, and of e3nn's ``gate_points_2101.Network`` dictionaries: the nodes
of all graphs are concatenated and ``batch[i]`` is the graph of node ``i``.

Rules (``inputs`` a tuple with ``kinds`` a tuple, or a mapping with ``kinds``
a mapping, as for mapping inputs):

* exactly one input has kind ``"batch"``: an integer vector ``(sum N_i,)``
  of graph ids ``0 .. B-1`` (every id must have nodes; they need not be
  sorted). For a single graph pass ``torch.zeros(N, dtype=torch.long)``.
* kinds with a particle axis (``point``, ``vector``, ``scalar``, ``label``,
  ...): **per node**, one row per node;
* ``index``: node indices into the flat node axis (``edge_index`` of shape
  ``(2, E)``, edges on the last axis); every edge must join nodes of one
  graph;
* any other kind except ``constant``: **per graph** with ``B`` rows, or **per
  edge** with one row per column of the first ``index`` input (an input
  whose row count fits both is refused as ambiguous; one row per node is
  refused: give it a per-node kind);
* ``constant``: passed unchanged, whole, to every call.

The group acts within each graph, as for PyG inputs; graphs of unequal node
counts are checked as one problem per node count (``"graphs of 5 nodes"``).
``fn`` is called with the flat tensors rebuilt from the moved graphs, graph
after graph (node ``i`` of graph ``b`` at row ``b * N + i``; the edges of
each graph in their original order), and a batch vector ``0, .., 0, 1, ..``
of the batch input's dtype. Outputs are matched as for PyG inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor

from symnet.groups import Kind, as_kind
from symnet.testing._structured import Problem, is_batch_kind
from symnet.testing._structured_graph import (
    EDGE,
    GRAPH,
    INDEX,
    NODE,
    Field,
    Graphs,
    graph_problems,
    node_rows_error,
)
from symnet.testing._structured_mapping import check_keys, rebuild_mapping

__all__ = ["flat_problems"]


def _entries(inputs: Any, kinds: Any, kinds_name: str) -> list[tuple[Any, str, Tensor, Any]]:
    if isinstance(inputs, Mapping):
        keys = check_keys(inputs, kinds, kinds_name)
        return [(key, f"inputs[{key!r}]", inputs[key], kinds[key]) for key in keys]
    if not isinstance(inputs, (tuple, list)):
        raise TypeError(
            f"{kinds_name} holds 'batch' (a flat graph layout), so inputs must be a tuple or a "
            f"mapping of tensors; got {type(inputs).__name__}"
        )
    if not isinstance(kinds, (tuple, list)) or len(kinds) != len(inputs):
        n = len(kinds) if isinstance(kinds, (tuple, list)) else 1
        raise ValueError(
            f"{kinds_name} has {n} kind(s) but there are {len(inputs)} inputs; expected one "
            f"kind per input"
        )
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"inputs[{i}] must be a tensor, got {type(x).__name__}")
    return [(i, f"inputs[{i}]", x, k) for i, (x, k) in enumerate(zip(inputs, kinds, strict=True))]


def _batch_vector(entries: list, kinds_name: str) -> tuple[int, Tensor]:
    found = [i for i, e in enumerate(entries) if is_batch_kind(e[3])]
    if len(found) != 1:
        names = ", ".join(entries[i][1] for i in found)
        raise ValueError(
            f"{kinds_name} gives kind 'batch' to {len(found)} inputs ({names}); a flat layout "
            f"has exactly one batch vector"
        )
    i = found[0]
    name, b = entries[i][1], entries[i][2]
    if b.dim() != 1 or b.is_floating_point() or b.is_complex() or b.numel() == 0:
        raise ValueError(
            f"{name} of kind batch must be a non-empty integer vector (sum N_i,) of graph ids, "
            f"got dtype {b.dtype} and shape {tuple(b.shape)}"
        )
    if int(b.min()) < 0:
        raise ValueError(f"{name} of kind batch holds a negative graph id {int(b.min())}")
    counts = torch.bincount(b)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"{name} of kind batch skips graph id(s) {empty[:5]}: graph ids must be 0 .. B-1, "
            f"each with at least one node"
        )
    return i, b


def _edge_graphs(name: str, x: Tensor, batch: Tensor) -> Tensor:
    """The graph of every edge (column on the last axis) of the index tensor ``x``."""
    if x.dim() == 0 or x.is_floating_point():
        raise ValueError(
            f"{name} of kind index must be an integer tensor (..., E), got dtype {x.dtype} and "
            f"shape {tuple(x.shape)}"
        )
    E = int(x.shape[-1])
    cols = x.reshape(-1, E)
    if cols.numel() and (int(cols.min()) < 0 or int(cols.max()) >= batch.numel()):
        raise ValueError(
            f"{name} holds node indices from {int(cols.min())} to {int(cols.max())} but there "
            f"are {batch.numel()} nodes; expected indices 0 .. {batch.numel() - 1}"
        )
    graphs = batch[cols]
    bad = (graphs != graphs[:1]).any(0).nonzero().flatten()
    if bad.numel():
        e = int(bad[0])
        raise ValueError(
            f"edge {e} of {name} joins nodes {cols[:, e].tolist()} of different graphs "
            f"{graphs[:, e].tolist()}; every edge must stay within one graph"
        )
    return graphs[0] if graphs.shape[0] else graphs.new_zeros(E)


def _level(name: str, x: Tensor, kind: Kind, B: int, n: int, E: int | None) -> str:
    if kind.name == "index":
        return INDEX
    if kind.particle_axis:
        if x.dim() == 0 or int(x.shape[0]) != n:
            raise ValueError(
                f"{name} has kind {kind}, a per-node kind, so it needs one row per node "
                f"({n} rows, the length of the batch vector), got shape {tuple(x.shape)}"
            )
        return NODE
    rows = int(x.shape[0]) if x.dim() else None
    if rows == B and E is not None and rows == E:
        raise ValueError(
            f"{name} has {rows} rows, both the number of graphs and the number of edges: the "
            f"flat layout cannot tell whether it is per graph or per edge"
        )
    if rows == B:
        return GRAPH
    if E is not None and rows == E:
        return EDGE
    if rows == n:
        raise node_rows_error(name, kind, n)
    raise ValueError(
        f"{name} has shape {tuple(x.shape)}; with kind {kind} it needs one row per graph "
        f"(B = {B})" + (f" or one per edge (E = {E})" if E is not None else "")
    )


def flat_problems(
    fn: Callable[..., Any], inputs: Any, kinds: Any, out_kinds: Any, kinds_name: str
) -> list[Problem]:
    """Problems for a flat layout with a batch vector (tuple or mapping inputs).

    Raises
    ------
    TypeError, ValueError
        No or several batch vectors, a batch vector that is not integer ids
        ``0 .. B-1``, an input whose rows fit no level, an edge across
        graphs, an index out of range, naming the input.
    """
    entries = _entries(inputs, kinds, kinds_name)
    ib, batch = _batch_vector(entries, kinds_name)
    n, B = batch.numel(), int(batch.max()) + 1
    counts = torch.bincount(batch, minlength=B)
    order = torch.argsort(batch, stable=True)
    start = torch.cumsum(counts, 0) - counts
    local = torch.empty_like(batch)
    local[order] = torch.arange(n, device=batch.device) - start[batch[order]]
    nodes = [order[int(start[g]) : int(start[g] + counts[g])] for g in range(B)]

    fields, constants, edge_graphs = [], [], {}
    E = None
    parsed = {}
    for j, (key, name, x, k) in enumerate(entries):
        if j == ib:
            continue
        kind = as_kind(k, f"{kinds_name}[{key!r}]")
        parsed[key] = kind
        if kind.name == "index":
            edge_graphs[key] = _edge_graphs(name, x, batch)
            E = int(x.shape[-1]) if E is None else E
    for j, (key, name, x, _) in enumerate(entries):
        if j == ib:
            continue
        kind = parsed[key]
        if kind.name == "constant":
            constants.append((key, name, x, kind))
            continue
        fields.append(Field(key, name, kind, _level(name, x, kind, B, n, E)))
    first_index = next((f.key for f in fields if f.level == INDEX), None)

    def part(f: Field, x: Tensor, g: int) -> Tensor:
        if f.level == NODE:
            return x[nodes[g]]
        if f.level == GRAPH:
            return x[g]
        graphs = edge_graphs[f.key if f.level == INDEX else first_index]
        cols = (graphs == g).nonzero().flatten()
        return local[x[..., cols]] if f.level == INDEX else x[cols]

    values = {e[0]: e[2] for e in entries}
    split = Graphs(
        fields,
        [{f.key: part(f, values[f.key], g) for f in fields} for g in range(B)],
        counts.tolist(),
    )
    nf = len(fields)

    def make_rebuild(members: list[int]) -> Callable[..., tuple[tuple, dict]]:
        Bp, N = len(members), int(counts[members[0]])

        def rebuild(*xs: Tensor) -> tuple[tuple, dict]:
            flat: dict[Any, Any] = {}
            for f, x in zip(fields, xs[:nf], strict=True):
                if f.level == NODE:
                    y = split.node_batch(f, x)
                    flat[f.key] = y.reshape(Bp * N, *y.shape[2:])
                elif f.level == INDEX:
                    parts = split.unstack(f, x, members)
                    flat[f.key] = torch.cat([p + b * N for b, p in enumerate(parts)], dim=-1)
                elif f.level == EDGE:
                    flat[f.key] = torch.cat(split.unstack(f, x, members))
                else:
                    flat[f.key] = x
            for (key, *_), c in zip(constants, xs[nf:], strict=True):
                flat[key] = c
            ids = torch.arange(Bp, device=batch.device, dtype=batch.dtype)
            flat[entries[ib][0]] = ids.repeat_interleave(N)
            if isinstance(inputs, Mapping):
                return (rebuild_mapping(inputs, flat),), {}
            return tuple(flat[i] for i in range(len(entries))), {}

        return rebuild

    problems = graph_problems(fn, split, out_kinds, make_rebuild)
    if not constants:
        return problems
    return [
        Problem(
            fn=p.fn,
            inputs=(*p.inputs, *(c[2] for c in constants)),
            in_kinds=(*p.in_kinds, *(c[3] for c in constants)),
            out_kinds=p.out_kinds,
            input_names=(*p.input_names, *(c[1] for c in constants)),
            output_names=p.output_names,
            label=p.label,
        )
        for p in problems
    ]
