"""Radius graphs for message passing: directed edges with periodic image shifts.

:func:`radius_graph` turns the half pair list of
:func:`~symnet.systems.neighbours.cell_list_pairs` into a ``torch_geometric``
style directed graph: both edges ``i -> j`` and ``j -> i`` of every pair, row 0
of ``edge_index`` the sources, row 1 the targets (PyG's ``source_to_target``
flow), over several graphs of one node set (a PyG ``batch`` vector), with the
periodic image vector of every edge.

**Shift convention.** For an edge ``source -> target`` with image vector
``shift``::

    pos[target] - pos[source] + shift == box.minimum_image(pos[target] - pos[source])

the minimum-image displacement from the source to the target (the convention
of :class:`~symnet.systems.neighbours.Pairs`, whose ``q[j] - q[i] + shift`` is
the displacement from ``i`` to ``j``). The two edges of a pair carry opposite
shifts; self-loops and graphs without a box carry zeros. A message-passing
layer's ``x_i - x_j`` (target minus source) is then ``pos_i - pos_j +
shift``: :class:`~symnet.nn.EGNNConv` takes it as ``edge_shift``.

:func:`edge_index_from_pairs` does the same for a list one already has (e.g.
from a :class:`~symnet.systems.neighbours.NeighbourList`).

Examples
--------
>>> import torch
>>> from symnet.groups import PeriodicBox
>>> from symnet.systems.neighbours import radius_graph
>>> pos = torch.tensor([[0.5, 1.0], [3.5, 1.0], [2.0, 3.0]])
>>> edge_index, shift = radius_graph(pos, 1.5, box=PeriodicBox(4.0, dim=2))
>>> edge_index
tensor([[1, 0],
        [0, 1]])
>>> shift
tensor([[ 4.,  0.],
        [-4.,  0.]])
>>> pos[edge_index[1]] - pos[edge_index[0]] + shift  # minimum-image displacements
tensor([[ 1.,  0.],
        [-1.,  0.]])
"""

from __future__ import annotations

import torch
from torch import Tensor

from symnet.groups.box import PeriodicBox
from symnet.systems.neighbours._checks import check_box, check_cutoff, check_finite
from symnet.systems.neighbours.cells import cell_list_pairs
from symnet.systems.neighbours.pairs import Pairs

__all__ = ["edge_index_from_pairs", "radius_graph"]


def radius_graph(
    pos: Tensor,
    cutoff: float,
    box: PeriodicBox | None = None,
    batch: Tensor | None = None,
    loop: bool = False,
) -> tuple[Tensor, Tensor]:
    """Directed edges between nodes closer than ``cutoff``, with periodic image shifts.

    Built by the O(N) cell list
    (:func:`~symnet.systems.neighbours.cell_list_pairs`: the same pairs, by
    the same test ``|dx|^2 < cutoff^2`` on the minimum-image displacement, as
    the O(N^2) :func:`~symnet.systems.neighbours.all_pairs`). Nodes of
    different graphs of ``batch`` are never connected; graphs of equal size
    are built in one batched pass (one pass per distinct graph size).
    Computed without gradients; the graph depends only on distances, so a
    model on it keeps the symmetries of its layers (with the shifts: the
    translations of the torus).

    Parameters
    ----------
    pos : Tensor
        Positions, shape ``(num_nodes, d)``, floating point; may lie outside
        the box (wrapped or not, the result is the same graph); not modified.
    cutoff : float
        Edge range, ``> 0``; under a box at most half its smallest side (the
        minimum image is then the only image within range).
    box : PeriodicBox, optional
        Periodic box (minimum-image distances); ``None`` for open boundaries.
    batch : Tensor, optional
        Integer, shape ``(num_nodes,)``: the graph of each node (PyG's
        ``batch``, any order); default one graph.
    loop : bool
        Also the self-loops ``(k, k)`` (shift zero).

    Returns
    -------
    edge_index : Tensor
        Long, shape ``(2, num_edges)``: row 0 sources, row 1 targets, both
        directions of every pair, sorted by target, then source.
    shift : Tensor
        Shape ``(num_edges, d)``, dtype of ``pos``: the image vector with
        ``pos[target] - pos[source] + shift`` the minimum-image displacement
        from source to target (integer multiples of the box lengths; zeros
        without a box).

    Raises
    ------
    TypeError
        ``pos`` not a floating-point tensor, ``box`` not a ``PeriodicBox``,
        ``batch`` not an integer tensor.
    ValueError
        ``pos`` not ``(num_nodes, d)`` or not finite, ``d`` different from the
        box's, ``cutoff`` not in ``(0, min(L) / 2]``, ``batch`` of the wrong
        shape or negative.

    Examples
    --------
    >>> import torch
    >>> from symnet.systems.neighbours import radius_graph
    >>> pos = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.2], [0.6, 0.0]])
    >>> edge_index, shift = radius_graph(pos, 1.0, batch=torch.tensor([0, 0, 1, 1]))
    >>> edge_index
    tensor([[1, 0, 3, 2],
            [0, 1, 2, 3]])
    >>> bool((shift == 0).all())
    True
    """
    box = check_box(box)
    pos = _check_pos(pos, box)
    cutoff = check_cutoff(cutoff, box)
    n, d = pos.shape
    dev = pos.device
    with torch.no_grad():
        p = pos.detach()
        check_finite(p, "pos")
        sources, targets, shifts = [], [], []
        batch = _check_batch(batch, n, dev)
        if batch is None and n >= 2:  # one graph: no relabelling
            pairs = cell_list_pairs(p, cutoff, box)
            sources, targets, shifts = [pairs.i], [pairs.j], [pairs.shift]
        for idx in _groups(batch, n, dev) if batch is not None else []:
            pairs = cell_list_pairs(p[idx], cutoff, box)
            flat = idx.reshape(-1)
            base = pairs.batch * idx.shape[1]
            sources.append(flat.index_select(0, base + pairs.i))
            targets.append(flat.index_select(0, base + pairs.j))
            shifts.append(pairs.shift)
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        i = torch.cat(sources) if sources else empty
        j = torch.cat(targets) if targets else empty
        s = torch.cat(shifts) if shifts else p.new_zeros(0, d)
        return _directed(i, j, s, n, loop, p)


def edge_index_from_pairs(
    pairs: Pairs, q: Tensor | None = None, *, num_nodes: int | None = None, loop: bool = False
) -> tuple[Tensor, Tensor]:
    """The directed graph of a half pair list: ``(edge_index, shift)`` as :func:`radius_graph`.

    Parameters
    ----------
    pairs : Pairs
        A half list (``i < j``), e.g. ``NeighbourList.update(q)``.
    q : Tensor, optional
        Positions ``(N, d)`` (or ``(B, N, d)`` for a batched list): the shifts
        are recomputed at these positions (exact for positions moved or
        wrapped since the list was built); default the list's ``shift``
        (valid at the positions it was built with).
    num_nodes : int, optional
        Nodes per configuration; needed for a batched list without ``q``
        (node ``b * num_nodes + i`` of the flattened ``(B * N, d)`` positions).
    loop : bool
        Also the self-loops (of all ``num_nodes`` nodes, or of ``B * N``).

    Returns
    -------
    edge_index : Tensor
        Long, shape ``(2, 2 P (+ loops))``: row 0 sources, row 1 targets,
        sorted by target, then source; nodes of a batched list flattened.
    shift : Tensor
        ``(num_edges, d)``: ``pos[target] - pos[source] + shift`` is the
        minimum-image displacement (``pos`` the flattened positions).

    Examples
    --------
    >>> import torch
    >>> from symnet.groups import PeriodicBox
    >>> from symnet.systems.neighbours import all_pairs, edge_index_from_pairs
    >>> q = torch.tensor([[0.5, 1.0], [3.5, 1.0], [2.0, 3.0]])
    >>> edge_index, shift = edge_index_from_pairs(all_pairs(q, 1.5, PeriodicBox(4.0, dim=2)), q)
    >>> edge_index.tolist(), shift[:, 0].tolist()
    ([[1, 0], [0, 1]], [4.0, -4.0])
    """
    if not isinstance(pairs, Pairs):
        raise TypeError(f"pairs must be a Pairs, got {type(pairs).__name__}")
    with torch.no_grad():
        if q is not None:
            flat, i, j = pairs._flat_indices(q.detach())
            raw = flat[j] - flat[i]
            s = raw * 0 if pairs.box is None else pairs.box.minimum_image(raw) - raw
            n = flat.shape[0]
        else:
            if pairs.batch is not None and num_nodes is None:
                raise ValueError("num_nodes is needed for a batched pair list without q")
            i, j, s = pairs.i, pairs.j, pairs.shift
            if pairs.batch is not None:
                i, j = pairs.batch * num_nodes + i, pairs.batch * num_nodes + j
                n = num_nodes * (int(pairs.batch.max()) + 1 if len(pairs) else 0)
            else:
                n = num_nodes if num_nodes is not None else (int(j.max()) + 1 if len(pairs) else 0)
            flat = s
        return _directed(i, j, s, n, loop, flat)


def _directed(
    i: Tensor, j: Tensor, s: Tensor, n: int, loop: bool, like: Tensor
) -> tuple[Tensor, Tensor]:
    """Both edges of every pair ``(i, j, shift)`` (and the loops), sorted by target, source."""
    src, tgt, shift = (
        torch.cat([i, j]),
        torch.cat([j, i]),
        torch.cat([s, 0.0 - s]),
    )  # 0 - s: no -0.0
    if loop:
        k = torch.arange(n, device=i.device)
        src, tgt = torch.cat([src, k]), torch.cat([tgt, k])
        shift = torch.cat([shift, s.new_zeros(n, s.shape[-1])])
    order = torch.argsort(tgt * max(n, 1) + src)
    edges = torch.stack([src.index_select(0, order), tgt.index_select(0, order)])
    return edges, shift.index_select(0, order).to(like.dtype)


def _check_pos(pos: object, box: PeriodicBox | None) -> Tensor:
    if not isinstance(pos, Tensor) or not pos.is_floating_point():
        got = pos.dtype if isinstance(pos, Tensor) else type(pos).__name__
        raise TypeError(f"pos must be a floating-point tensor of shape (num_nodes, d), got {got}")
    if pos.dim() != 2 or pos.shape[-1] < 1:
        raise ValueError(f"pos must have shape (num_nodes, d), got {tuple(pos.shape)}")
    if box is not None and pos.shape[-1] != box.dim:
        raise ValueError(
            f"pos must have shape (num_nodes, {box.dim}) for the {box.dim}-d box {box!r}, "
            f"got {tuple(pos.shape)}"
        )
    return pos


def _check_batch(batch: object, n: int, dev: torch.device) -> Tensor | None:
    if batch is None:
        return None
    if not isinstance(batch, Tensor) or batch.is_floating_point() or batch.dtype == torch.bool:
        got = batch.dtype if isinstance(batch, Tensor) else type(batch).__name__
        raise TypeError(f"batch must be an integer tensor of shape (num_nodes,), got {got}")
    if batch.shape != (n,):
        raise ValueError(f"batch must have shape (num_nodes,) = ({n},), got {tuple(batch.shape)}")
    batch = batch.to(device=dev, dtype=torch.long)
    if n and int(batch.min()) < 0:
        raise ValueError("batch must hold graph ids >= 0, got a negative entry")
    return batch


def _groups(batch: Tensor, n: int, dev: torch.device) -> list[Tensor]:
    """Node ids ``(G, s)`` of the graphs of each size ``s >= 2`` (one tensor per size)."""
    order = torch.argsort(batch, stable=True)
    counts = torch.bincount(batch)
    starts = torch.cumsum(counts, 0) - counts
    out = []
    for size in torch.unique(counts).tolist():
        if size < 2:
            continue
        first = starts[counts == size]
        out.append(order[first[:, None] + torch.arange(size, device=dev)])
    return out
