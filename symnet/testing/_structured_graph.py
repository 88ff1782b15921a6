"""Graphs as batches of equal-size graphs: the layout shared by PyG and flat inputs.

Private module, used by :mod:`symnet.testing._structured_pyg` and
:mod:`symnet.testing._structured_flat`. The structured inputs are first split
into graphs (one dictionary of per-graph tensors each, node indices local to
the graph); graphs with the same number of nodes ``N`` are then stacked into
one problem, ``B`` graphs at a time:

=======  ==========================  ====================================
level    one graph                   stacked
=======  ==========================  ====================================
node     ``(N, *rest)``              ``(B, N, *rest)`` moved to the kind's
                                     particle axis (``(B, N)`` for a label,
                                     ``(B, N, 1)`` for a 1-d scalar)
index    ``(..., E_i)``, local ids   ``(B, ..., E_max)`` padded with ``-1``
edge     ``(E_i, *rest)``            ``(B, E_max, *rest)`` padded with 0
graph    any shape ``S``             ``(B, *S)``
=======  ==========================  ====================================

Unstacking drops the padding (the per-graph lengths are known, so edge
order is kept). Outputs of the user's function are flat: one row per node,
``(B * N, ...)``, becomes ``(B, N, ...)`` (see :func:`reshape_output`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from symnet._util import format_shape
from symnet.groups import Kind
from symnet.testing._structured import Adapted, OutputSpec, Problem, fn_name

__all__ = ["NODE", "EDGE", "INDEX", "GRAPH", "Field", "Graphs", "reshape_output", "graph_problems"]

NODE, EDGE, INDEX, GRAPH = "node", "edge", "index", "graph"


def particle_dim(kind: Kind) -> int:
    """The particle axis of ``kind``: ``-1`` for a label, ``-2`` otherwise."""
    return int(getattr(kind, "particle_dim", -2))


@dataclass(frozen=True)
class Field:
    """One structured input: where it is, its name, kind and level.

    Attributes
    ----------
    key : Any
        Attribute name, mapping key or tuple position.
    name : str
        For messages: ``"data.pos"``, ``"inputs['pos']"``, ``"inputs[1]"``.
    kind : Kind
        Its kind.
    level : str
        ``"node"``, ``"edge"``, ``"index"`` or ``"graph"``.
    """

    key: Any
    name: str
    kind: Kind
    level: str


def _to_layout(x: Tensor, kind: Kind) -> Tensor:
    """``(B, N, *rest)`` -> the kind's layout, the node axis at its particle axis."""
    if particle_dim(kind) == -1:
        return x.movedim(1, -1)
    return x.unsqueeze(-1) if x.dim() == 2 else x.movedim(1, -2)


def _from_layout(x: Tensor, kind: Kind, rest: int) -> Tensor:
    """Inverse of :func:`_to_layout` for ``rest`` trailing per-node axes."""
    if particle_dim(kind) == -1:
        return x.movedim(-1, 1)
    return x.squeeze(-1) if rest == 0 else x.movedim(-2, 1)


class Graphs:
    """Graphs split from structured inputs, stacked by node count.

    Parameters
    ----------
    fields : sequence of Field
        The inputs the group acts on.
    graphs : sequence of dict
        Per graph, ``field.key -> tensor`` laid out as the table above says
        for one graph (node indices local to the graph).
    n_nodes : sequence of int
        Nodes per graph.
    """

    def __init__(
        self, fields: Sequence[Field], graphs: Sequence[dict], n_nodes: Sequence[int]
    ) -> None:
        self.fields = tuple(fields)
        self.graphs = list(graphs)
        self.n_nodes = [int(n) for n in n_nodes]
        for f in self.fields:
            if f.level == NODE:
                for i, g in enumerate(self.graphs):
                    x = g[f.key]
                    if x.dim() == 0 or int(x.shape[0]) != self.n_nodes[i]:
                        raise ValueError(
                            f"{f.name} has kind {f.kind}, a per-node kind, but its part for graph "
                            f"{i} has shape {format_shape(x.shape)}, not one row per node "
                            f"({self.n_nodes[i]} nodes)"
                        )

    def groups(self) -> list[tuple[str, list[int]]]:
        """``(label, graph indices)`` per node count; the label is empty for one count."""
        sizes = sorted(set(self.n_nodes))
        if not sizes:
            raise ValueError("the inputs hold no graph: there is nothing to check")
        members = [[i for i, n in enumerate(self.n_nodes) if n == s] for s in sizes]
        if len(sizes) == 1:
            return [("", members[0])]
        return [
            (f"graphs of {s} node{'s' if s != 1 else ''}", m)
            for s, m in zip(sizes, members, strict=True)
        ]

    def length(self, f: Field, i: int) -> int:
        """Number of entries of graph ``i`` along the padded axis of ``f``."""
        x = self.graphs[i][f.key]
        return int(x.shape[-1]) if f.level == INDEX else int(x.shape[0])

    def stack(self, members: Sequence[int]) -> tuple[Tensor, ...]:
        """One stacked tensor per field for the graphs ``members``."""
        out = []
        for f in self.fields:
            parts = [self.graphs[i][f.key] for i in members]
            if f.level in (INDEX, EDGE):
                if any(p.dim() == 0 for p in parts):
                    raise ValueError(f"{f.name} is per edge but has no edge axis")
                width = max(self.length(f, i) for i in members)
                pad_value = -1 if f.level == INDEX else 0
                parts = [_pad(p, width, f.level == INDEX, pad_value) for p in parts]
            shapes = {tuple(p.shape) for p in parts}
            if len(shapes) > 1:
                raise ValueError(
                    f"{f.name} has parts of different shapes in different graphs "
                    f"({', '.join(format_shape(s) for s in sorted(shapes))}); the graphs of a "
                    f"batch need the same shape for it"
                )
            x = torch.stack(parts)
            out.append(_to_layout(x, f.kind) if f.level == NODE else x)
        return tuple(out)

    def node_batch(self, f: Field, x: Tensor) -> Tensor:
        """A stacked node field back as ``(B, N, *rest)``."""
        rest = self.graphs[0][f.key].dim() - 1
        return _from_layout(x, f.kind, rest)

    def unstack(self, f: Field, x: Tensor, members: Sequence[int]) -> list[Tensor]:
        """The per-graph parts of the stacked field ``x`` (padding dropped)."""
        if f.level == NODE:
            y = self.node_batch(f, x)
            return [y[b] for b in range(len(members))]
        if f.level == INDEX:
            return [x[b, ..., : self.length(f, i)] for b, i in enumerate(members)]
        if f.level == EDGE:
            return [x[b, : self.length(f, i)] for b, i in enumerate(members)]
        return [x[b] for b in range(len(members))]


def _pad(x: Tensor, width: int, last: bool, value: int) -> Tensor:
    n = int(x.shape[-1] if last else x.shape[0])
    if n == width:
        return x
    if last:
        return F.pad(x, (0, width - n), value=value)
    fill = x.new_full((width - n, *x.shape[1:]), value)
    return torch.cat([x, fill])


def reshape_output(y: Tensor, kind: Kind | None, B: int, N: int, name: str) -> Tensor:
    """A flat output of ``B`` graphs of ``N`` nodes in its batched layout.

    * ``B * N`` rows (one per node): ``(B, N, ...)``, the node axis moved to
      the kind's particle axis (``(B, N, 1)`` for a 1-d output of a kind
      with the particle axis at ``-2``, such as forces' norms as ``scalar``);
    * ``B`` rows (one per graph): as it is; a kind with a particle axis gets
      a particle axis of size 1 (a centre of mass ``(B, 3)`` -> ``(B, 1, 3)``);
    * when ``N = 1`` the two coincide and are the same layout.

    Raises
    ------
    ValueError
        Another number of rows, or one row per node for a kind without a
        particle axis (permutations would not move it).
    """
    rows = int(y.shape[0]) if y.dim() else None
    per_node = rows == B * N
    per_graph = rows == B
    nodes = f"{B} graph{'s' if B != 1 else ''} of {N} node{'s' if N != 1 else ''}"
    if not (per_node or per_graph):
        raise ValueError(
            f"{name} has shape {format_shape(y.shape)}; expected one row per node (B*N = "
            f"{B * N} rows for {nodes}) or one row per graph (B = {B} rows); per-edge "
            f"outputs are not supported"
        )
    if kind is None:
        return y.reshape(B, N, *y.shape[1:]) if per_node and not per_graph else y
    if not kind.particle_axis:
        if per_graph:
            return y
        raise ValueError(
            f"{name} has one row per node ({B * N} rows for {nodes}), but its kind {kind} has "
            f"no particle axis, so permutations would not move it; give a per-node output a "
            f"kind with a particle axis ('scalar' for invariant node features, 'vector', "
            f"irreps_kind(..., per_particle=True))"
        )
    if per_node:
        return _to_layout(y.reshape(B, N, *y.shape[1:]), kind)
    return y.unsqueeze(particle_dim(kind))


def graph_problems(
    fn: Callable[..., Any],
    graphs: Graphs,
    out_kinds: Any,
    make_rebuild: Callable[[list[int]], Callable[..., tuple[tuple, dict]]],
) -> list[Problem]:
    """One problem per node count; ``make_rebuild(members)`` rebuilds the user's arguments."""
    problems = []
    for label, members in graphs.groups():
        B, N = len(members), graphs.n_nodes[members[0]]
        spec = OutputSpec(out_kinds, fn_name(fn))

        def reshape(y: Tensor, kind: Any, name: str, B: int = B, N: int = N) -> Tensor:
            return reshape_output(y, kind, B, N, name)

        problems.append(
            Problem(
                fn=Adapted(fn, make_rebuild(members), spec, reshape),
                inputs=graphs.stack(members),
                in_kinds=tuple(f.kind for f in graphs.fields),
                out_kinds=spec.kinds,
                input_names=tuple(f.name for f in graphs.fields),
                output_names=spec.names,
                label=label,
            )
        )
    return problems


def node_rows_error(name: str, kind: Kind, n: int) -> ValueError:
    """A per-node input given a kind without a particle axis."""
    return ValueError(
        f"{name} has one row per node ({n} rows) but kind {kind}, which has no particle axis, "
        f"so permutations would not move it; give it a per-node kind: 'label' for atom types "
        f"and other integer labels, 'scalar' for features (N, C), 'point' or 'vector', "
        f"irreps_kind(irreps, per_particle=True) for e3nn features"
    )
