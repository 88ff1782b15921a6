"""Graph builders for :class:`~symnet.nn.EGNNConv` (private; re-exported by it).

``torch_geometric.nn.radius_graph`` needs the optional ``pyg-lib`` or
``torch-cluster`` packages; :func:`radius_graph` here is a dependency-free
replacement (a cell list). For periodic boxes and image shifts see
:func:`symnet.systems.neighbours.radius_graph`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from symnet._util import check_finite

__all__ = ["fully_connected_graph", "radius_graph"]


def fully_connected_graph(
    num_nodes: int, batch: Tensor | None = None, *, device: torch.device | None = None
) -> Tensor:
    """Every ordered pair ``(j, i)``, ``j != i``, within each graph.

    Parameters
    ----------
    num_nodes : int
        Total number of nodes.
    batch : Tensor, optional
        Long, shape ``(num_nodes,)``: the graph of each node (PyG's ``batch``);
        default one graph.
    device : torch.device, optional
        Device of the result (default that of ``batch``, else CPU).

    Returns
    -------
    Tensor
        Long, shape ``(2, num_edges)``: row 0 sources ``j``, row 1 targets
        ``i``, sorted by target.
    """
    if batch is not None and tuple(batch.shape) != (num_nodes,):
        raise ValueError(
            f"batch must have shape (num_nodes,) = ({num_nodes},), got {tuple(batch.shape)}"
        )
    dev = device if device is not None else (batch.device if batch is not None else None)
    idx = torch.arange(num_nodes, device=dev)
    keep = idx[:, None] != idx[None, :]
    if batch is not None:
        keep = keep & (batch[:, None] == batch[None, :])
    target, source = keep.nonzero(as_tuple=True)
    return torch.stack([source, target])


def radius_graph(
    pos: Tensor,
    r: float,
    batch: Tensor | None = None,
    *,
    loop: bool = False,
) -> Tensor:
    """Edges between nodes closer than ``r`` (``|pos_i - pos_j| <= r``), within each graph.

    A dependency-free stand-in for ``torch_geometric.nn.radius_graph`` (which
    needs ``pyg-lib`` or ``torch-cluster``): a cell list with cells of side
    ``r``, so that only nodes in neighbouring cells (``3^d`` of them) are
    compared; O(num_nodes x neighbours) time and memory for spread-out
    points. The result depends only on distances, so a model on it stays
    E(d)-equivariant. Computed without gradients.

    Parameters
    ----------
    pos : Tensor
        Positions, shape ``(num_nodes, d)``.
    r : float
        Cut-off radius, ``> 0``.
    batch : Tensor, optional
        Long, shape ``(num_nodes,)``: the graph of each node; default one graph.
    loop : bool
        Include self-loops ``(i, i)``.

    Returns
    -------
    Tensor
        Long, shape ``(2, num_edges)``: row 0 sources ``j``, row 1 targets
        ``i``, sorted by target, then source.

    Raises
    ------
    ValueError
        ``pos`` is not ``(num_nodes, d)`` or holds NaN/inf (the error names the
        first bad entry), or ``r`` is not positive.

    Examples
    --------
    >>> pos = torch.tensor([[0.0, 0.0], [0.5, 0.0], [2.0, 0.0]])
    >>> radius_graph(pos, r=1.0)
    tensor([[1, 0],
            [0, 1]])
    """
    if not isinstance(pos, Tensor) or pos.dim() != 2:
        got = tuple(pos.shape) if isinstance(pos, Tensor) else type(pos).__name__
        raise ValueError(f"pos must have shape (num_nodes, d), got {got}")
    if not r > 0:
        raise ValueError(f"r must be positive, got {r!r}")
    # NaN compares false with every distance: without this the graph would silently lose
    # every edge of the node (one reduction over pos; the cell list costs far more)
    check_finite(pos, "pos")
    n, d = pos.shape
    dev = pos.device
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=dev)
    with torch.no_grad():
        p = pos.detach()
        # Integer cells, shifted by one so that neighbour offsets stay in range.
        cell = torch.floor((p - p.min(0).values) / r).long() + 1  # (n, d)
        sizes = cell.max(0).values + 2
        strides = torch.ones(d, dtype=torch.long, device=dev)
        for k in range(d - 2, -1, -1):
            strides[k] = strides[k + 1] * sizes[k + 1]
        per_graph = int(strides[0] * sizes[0])
        graph = batch.long() if batch is not None else torch.zeros(n, dtype=torch.long, device=dev)
        key = graph * per_graph + (cell * strides).sum(-1)  # (n,)
        sorted_key, order = key.sort()
        offsets = torch.cartesian_prod(*[torch.arange(-1, 2, device=dev)] * d).reshape(-1, d)
        targets, sources = [], []
        for off in offsets:
            nkey = key + (off * strides).sum()
            start = torch.searchsorted(sorted_key, nkey, side="left")
            count = torch.searchsorted(sorted_key, nkey, side="right") - start
            tgt = torch.arange(n, device=dev).repeat_interleave(count)
            first = torch.cumsum(count, 0) - count  # position of each node's first candidate
            rank = torch.arange(tgt.shape[0], device=dev) - first.repeat_interleave(count)
            src = order[start.repeat_interleave(count) + rank]
            targets.append(tgt)
            sources.append(src)
        tgt, src = torch.cat(targets), torch.cat(sources)
        diff = p[tgt] - p[src]
        keep = (diff * diff).sum(-1) <= r * r
        if not loop:
            keep &= tgt != src
        tgt, src = tgt[keep], src[keep]
        perm = (tgt * n + src).argsort()
        return torch.stack([src[perm], tgt[perm]])
