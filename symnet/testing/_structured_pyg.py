"""PyG ``Data`` / ``Batch`` inputs with kinds per attribute.

Private module, used by :func:`symnet.testing._structured.adapt`.

Rules (``kinds`` maps attribute names to kinds, e.g. ``{"pos": "point", "z":
"label", "edge_index": "index", "edge_attr": "global", "y": "global"}``):

* every tensor attribute needs a kind (an error names a missing one); a kind
  naming no attribute is an error. A ``Batch``'s ``batch`` and ``ptr`` are
  rebuilt from the graphs and take no kind. Attributes that are not tensors
  are passed on unchanged.
* The group acts **within each graph**: a permutation permutes the nodes of
  every graph (the same permutation for every graph of a batch) and relabels
  ``edge_index`` so that every edge joins the same two nodes as before, in the
  same order; rotations and translations move every graph.
* How an attribute is split per graph follows its kind and name:

  - a kind with a particle axis (``point``, ``vector``, ``axial``, ``scalar``,
    ``label``, per-particle irreps or pseudoscalars): **per node**, one row
    per node (``x`` of shape ``(N,)`` with kind ``scalar`` is allowed);
  - ``index`` (or ``constant`` for an attribute PyG increments by the node
    count, such as ``edge_index``): node indices, the edges on the last
    axis; ``constant`` ones are not relabelled;
  - any other kind, for an attribute whose name contains ``"edge"``, or that
    has one row per edge of the first ``index`` attribute in every graph and
    not one row per node: **per edge** (``edge_attr``, ``bond_type``). Per-edge features must have a
    kind without a particle axis: ``global`` (invariant: distances, bond
    types), ``constant`` (integer, untouched), e3nn irreps (per-edge vectors
    as ``"1o"``, rotated and not permuted);
  - any other kind: **per graph** (``y``, ``(1, C)`` or ``(C,)`` per graph).
    A per-graph attribute with one row per node is an error: give it a
    per-node kind.
* ``fn`` receives a ``Batch`` (for a ``Batch`` input) or a ``Data`` (for a
  ``Data`` input) rebuilt from the moved tensors, with the attributes' dtypes
  as the check makes them (floating ones in the check's dtype).
* Graphs of unequal node counts are checked as one problem per node count,
  each a ``Batch`` of the graphs of that count, labelled ``"graphs of 5
  nodes"``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

from symnet._util import format_shape
from symnet.groups import as_kind
from symnet.testing._structured import BATCH, Problem
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
from symnet.testing._structured_mapping import check_keys

__all__ = ["pyg_problems"]

_STRUCTURAL = ("batch", "ptr")


def _graphs_of(data: Any) -> tuple[list[Any], bool]:
    from torch_geometric.data import Batch, Data

    if not isinstance(data, Data):
        raise TypeError(
            f"inputs is a {type(data).__name__}; of PyG's data types only Data and Batch "
            f"(homogeneous graphs) are supported"
        )
    if isinstance(data, Batch):
        try:
            return data.to_data_list(), True
        except RuntimeError as err:
            raise ValueError(
                f"inputs is a Batch that cannot be split into its graphs ({err}); build it with "
                f"Batch.from_data_list"
            ) from None
    if isinstance(data.get("batch"), Tensor):
        raise ValueError(
            "inputs is a Data with a batch vector (data.batch): build a Batch with "
            "Batch.from_data_list([...]) for several graphs, or pass the flat tensors with "
            "kind 'batch' for the batch vector"
        )
    return [data], False


def _level(key: str, kind: Any, graph: Any) -> str:
    if kind.name == "index":
        return INDEX
    if kind.particle_axis:
        return NODE
    value = graph[key]
    if kind.name == "constant" and value.dim() > 0:
        try:
            inc = graph.__inc__(key, value)
        except Exception:  # noqa: BLE001 - a custom __inc__ that needs more
            inc = 0
        if isinstance(inc, Tensor) or inc != 0:
            return INDEX
    if "edge" in key:
        return EDGE
    return GRAPH


def pyg_problems(
    fn: Callable[..., Any], data: Any, kinds: Any, out_kinds: Any, kinds_name: str
) -> list[Problem]:
    """Problems for ``fn(data)`` of a PyG ``Data`` or ``Batch`` with kinds per attribute.

    Raises
    ------
    TypeError, ValueError
        A tensor attribute without a kind, a kind naming no attribute, a
        per-node attribute with a kind that has no particle axis, an index
        out of range, or a data type other than ``Data``/``Batch``.
    """
    from torch_geometric.data import Batch

    if not isinstance(kinds, Mapping):
        raise TypeError(
            f"inputs is a {type(data).__name__}, so {kinds_name} must be a mapping from attribute "
            f"name to kind (e.g. {{'pos': 'point', 'z': 'label', 'edge_index': 'index'}}); got "
            f"{type(kinds).__name__}"
        )
    graphs, is_batch = _graphs_of(data)
    attrs = {key: data[key] for key in data.keys()}  # noqa: SIM118 - Data is no dict
    if is_batch:
        for key in _STRUCTURAL:
            if key in kinds and not (isinstance(kinds[key], str) and kinds[key] == BATCH):
                raise ValueError(
                    f"data.{key} of a Batch is rebuilt from its graphs and takes no kind; "
                    f"remove {kinds_name}[{key!r}]"
                )
        kinds = {key: k for key, k in kinds.items() if key not in _STRUCTURAL}
        attrs = {key: v for key, v in attrs.items() if key not in _STRUCTURAL}
    keys = check_keys(attrs, kinds, kinds_name, what="data", fmt="{}.{}")
    n_nodes = [int(g.num_nodes) for g in graphs]
    levels = {}
    for key in keys:
        kind = as_kind(kinds[key], f"{kinds_name}[{key!r}]")
        levels[key] = (kind, _level(key, kind, graphs[0]))
    first = next((key for key, (_, lv) in levels.items() if lv == INDEX), None)
    edges = [int(g[first].shape[-1]) for g in graphs] if first is not None else None
    fields = []
    for key, (kind, level) in levels.items():
        name = f"data.{key}"
        parts = [g[key] for g in graphs]
        if level == GRAPH and _rows_are(parts, n_nodes) and any(n > 1 for n in n_nodes):
            err = node_rows_error(name, kind, int(attrs[key].shape[0]))
            raise ValueError(f"{err} (a per-edge attribute needs 'edge' in its name)")
        if level == GRAPH and edges is not None and _rows_are(parts, edges):
            level = EDGE  # one row per edge of the first index attribute: an edge feature
        if level == INDEX:
            _check_index(name, parts, n_nodes, kind.name == "index")
        fields.append(Field(key, name, kind, level))
    split = Graphs(fields, [{f.key: g[f.key] for f in fields} for g in graphs], n_nodes)

    def make_rebuild(members: list[int]) -> Callable[..., tuple[tuple, dict]]:
        templates = [graphs[i] for i in members]

        def rebuild(*xs: Tensor) -> tuple[tuple, dict]:
            parts = [split.unstack(f, x, members) for f, x in zip(fields, xs, strict=True)]
            out = []
            for b, template in enumerate(templates):
                g = copy.copy(template)
                for f, p in zip(fields, parts, strict=True):
                    g[f.key] = p[b]
                out.append(g)
            return ((Batch.from_data_list(out) if is_batch else out[0]),), {}

        return rebuild

    return graph_problems(fn, split, out_kinds, make_rebuild)


def _rows_are(parts: list[Tensor], rows: list[int]) -> bool:
    """True when part ``i`` has ``rows[i]`` rows for every graph ``i``."""
    return all(p.dim() > 0 and int(p.shape[0]) == n for p, n in zip(parts, rows, strict=True))


def _check_index(name: str, parts: list[Tensor], n_nodes: list[int], relabel: bool) -> None:
    for i, (p, n) in enumerate(zip(parts, n_nodes, strict=True)):
        if p.dim() == 0:
            raise ValueError(f"{name} holds node indices but is 0-dimensional; expected (2, E)")
        if relabel and p.numel() and (int(p.max()) >= n or int(p.min()) < 0):
            raise ValueError(
                f"{name} of graph {i} holds node indices from {int(p.min())} to {int(p.max())} "
                f"but the graph has {n} nodes (shape {format_shape(p.shape)}); expected "
                f"indices 0 .. {n - 1}"
            )
