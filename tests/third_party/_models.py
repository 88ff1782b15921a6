"""Real third-party models for the symmetry tests, built as their authors ship them.

The models are the installed packages' own classes, not re-implementations:
PyG's :class:`~torch_geometric.nn.models.SchNet` and
:class:`~torch_geometric.nn.models.DimeNetPlusPlus`, e3nn's gate network
(:class:`e3nn.nn.models.gate_points_2101.Network`) and egnn-pytorch's
:class:`~egnn_pytorch.EGNN` and :class:`~egnn_pytorch.EGNN_Network`.

Only what PyG would take from packages that are not installed here is
replaced, by pure-torch stand-ins with the same contract (O(N^2) per call,
fine for tests):

- ``radius_graph`` (torch-cluster / pyg-lib): :func:`radius_graph`. SchNet
  takes it through its ``interaction_graph`` argument
  (:class:`RadiusInteractionGraph`); DimeNet++ calls the name
  ``torch_geometric.nn.models.dimenet.radius_graph``, which
  :func:`pure_torch_dimenet` patches for the duration of a ``with`` block.
- DimeNet's ``triplets`` (torch-sparse's ``SparseTensor``): :func:`triplets`,
  patched the same way.

e3nn's gate network and egnn-pytorch need nothing replaced (e3nn ships its own
naive ``radius_graph`` built on ``torch.cdist``).

Sizes are small (hidden 16, two interactions) so that each check is fast.
Every builder takes a ``seed`` and a ``dtype`` (the default dtype the model
is built under, float64 by default) and leaves torch's global random state
and default dtype as it found them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn


@contextmanager
def _built(seed: int, dtype: torch.dtype) -> Iterator[None]:
    """Build under ``torch.manual_seed(seed)`` and default dtype ``dtype``, then restore both.

    Building in float64 (not building in float32 and casting) gives buffers
    accurate to float64, so the checks judge the models at float64's
    tolerance.
    """
    default = torch.get_default_dtype()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_default_dtype(dtype)
        try:
            yield
        finally:
            torch.set_default_dtype(default)


# ----------------------------------------------------------------- graph helpers
def radius_graph(
    pos: Tensor,
    r: float,
    batch: Tensor | None = None,
    loop: bool = False,
    max_num_neighbors: int | None = None,
    flow: str = "source_to_target",
    num_workers: int = 1,
    batch_size: int | None = None,
) -> Tensor:
    """Pure-torch ``torch_geometric.nn.radius_graph``: every pair closer than ``r``.

    ``pos`` is ``(num_nodes, d)``, ``batch`` ``(num_nodes,)`` (default one
    graph). Returns ``(2, num_edges)`` long: with ``flow="source_to_target"``
    row 0 holds the sources ``j`` and row 1 the targets ``i``, sorted by
    target. ``max_num_neighbors`` is accepted and ignored: every neighbour
    within ``r`` is kept (a cap would make the graph depend on node order,
    and the test graphs are small). Computed without gradients.
    """
    del max_num_neighbors, num_workers, batch_size
    with torch.no_grad():
        p = pos.detach()
        d2 = (p[:, None, :] - p[None, :, :]).pow(2).sum(-1)
        keep = d2 < r * r
        if not loop:
            keep &= ~torch.eye(len(p), dtype=torch.bool, device=p.device)
        if batch is not None:
            keep &= batch[:, None] == batch[None, :]
        target, source = keep.nonzero(as_tuple=True)
    if flow == "source_to_target":
        return torch.stack([source, target])
    return torch.stack([target, source])


def triplets(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, ...]:
    """Pure-torch ``torch_geometric.nn.models.dimenet.triplets`` (no torch-sparse).

    For edges ``j -> i`` (``edge_index = (row=j, col=i)``, ``(2, E)``) lists
    every path ``k -> j -> i`` with ``k != i``. Returns ``(col, row, idx_i,
    idx_j, idx_k, idx_kj, idx_ji)`` like PyG: the edge endpoints, the node
    indices of each triplet and the indices of its edges ``k -> j`` and
    ``j -> i`` into ``edge_index``. ``num_nodes`` is accepted for the
    signature and not needed.
    """
    del num_nodes
    row, col = edge_index
    # pairs (e = j -> i, f = k -> j): f ends where e starts, and k != i
    follows = (col[None, :] == row[:, None]) & (row[None, :] != col[:, None])
    idx_ji, idx_kj = follows.nonzero(as_tuple=True)
    idx_i, idx_j, idx_k = col[idx_ji], row[idx_ji], row[idx_kj]
    return col, row, idx_i, idx_j, idx_k, idx_kj, idx_ji


class RadiusInteractionGraph(nn.Module):
    """SchNet's ``interaction_graph`` on :func:`radius_graph`: ``(pos, batch) -> (edge_index, w)``.

    ``w`` (``(num_edges,)``) are the edge lengths ``|pos_j - pos_i|``. With
    ``metric`` (``(d,)``, a deliberately broken variant) the lengths are
    ``sqrt(sum_a metric_a (pos_j - pos_i)_a^2)``: an anisotropic metric that
    rotations about the axes of unequal weight do not preserve.
    """

    def __init__(self, cutoff: float, metric: Sequence[float] | None = None) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.metric = None if metric is None else tuple(float(m) for m in metric)

    def forward(self, pos: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        edge_index = radius_graph(pos, self.cutoff, batch)
        row, col = edge_index
        diff = pos[row] - pos[col]
        if self.metric is None:
            return edge_index, diff.norm(dim=-1)
        m = torch.tensor(self.metric, dtype=pos.dtype, device=pos.device)
        return edge_index, (diff.pow(2) * m).sum(-1).sqrt()


@contextmanager
def pure_torch_dimenet() -> Iterator[None]:
    """Within the block, PyG's DimeNet/DimeNet++ find :func:`radius_graph` and :func:`triplets`.

    ``DimeNet.forward`` calls the module-level names ``radius_graph`` (from
    torch-cluster / pyg-lib) and ``triplets`` (built on torch-sparse) of
    ``torch_geometric.nn.models.dimenet``; only those two names are replaced,
    and restored on exit. The model's own code runs otherwise.
    """
    from torch_geometric.nn.models import dimenet

    saved = dimenet.radius_graph, dimenet.triplets
    dimenet.radius_graph, dimenet.triplets = radius_graph, triplets
    try:
        yield
    finally:
        dimenet.radius_graph, dimenet.triplets = saved


# ----------------------------------------------------------------------- builders
def schnet(
    seed: int = 0,
    *,
    metric: Sequence[float] | None = None,
    hidden: int = 16,
    cutoff: float = 2.5,
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """PyG SchNet (energy ``(num_graphs, 1)`` from ``z`` and ``pos``) on the pure-torch graph.

    ``metric=(1, 1, 2)`` gives the broken twin (anisotropic edge lengths).
    """
    from torch_geometric.nn.models import SchNet

    with _built(seed, dtype):
        model = SchNet(
            hidden_channels=hidden,
            num_filters=hidden,
            num_interactions=2,
            num_gaussians=16,
            cutoff=cutoff,
            interaction_graph=RadiusInteractionGraph(cutoff, metric),
        )
    return model.eval()


def dimenet_pp(
    seed: int = 0,
    *,
    output_initializer: str = "glorot_orthogonal",
    cutoff: float = 2.5,
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """PyG DimeNet++ (energy ``(num_graphs, 1)``); call it inside :func:`pure_torch_dimenet`.

    PyG's default ``output_initializer="zeros"`` makes the untrained model
    output exactly zero (a check of it cannot fail); the tests pass
    ``"glorot_orthogonal"`` to get a model that computes something.
    """
    from torch_geometric.nn.models import DimeNetPlusPlus

    with _built(seed, dtype):
        model = DimeNetPlusPlus(
            hidden_channels=16,
            out_channels=1,
            num_blocks=2,
            int_emb_size=8,
            basis_emb_size=4,
            out_emb_channels=16,
            num_spherical=3,
            num_radial=4,
            cutoff=cutoff,
            output_initializer=output_initializer,
        )
    return model.eval()


def with_output_initializer(model: nn.Module, initializer: str, seed: int = 0) -> nn.Module:
    """A copy of a DimeNet/DimeNet++ whose output blocks are re-initialised with ``initializer``.

    Through the blocks' own ``reset_parameters`` (what ``output_initializer=``
    does at construction), so that one slow build (about a second of sympy)
    serves both the zero-initialised default and a model that computes
    something.
    """
    import copy

    out = copy.deepcopy(model)
    with _built(seed, next(model.parameters()).dtype):
        for block in out.output_blocks:
            block.output_initializer = initializer
            block.reset_parameters()
    return out


def gate_network(
    seed: int = 0,
    *,
    irreps_out: str = "0e + 1o",
    max_radius: float = 2.5,
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """e3nn's ``gate_points_2101.Network``: ``{"pos", "batch"} -> (num_graphs, irreps_out.dim)``.

    No node inputs or attributes (``irreps_in=None``): the output is a
    function of the positions alone.
    """
    from e3nn import o3
    from e3nn.nn.models.gate_points_2101 import Network

    with _built(seed, dtype):
        model = Network(
            irreps_in=None,
            irreps_hidden="4x0e + 4x0o + 2x1e + 2x1o",
            irreps_out=irreps_out,
            irreps_node_attr=None,
            irreps_edge_attr=o3.Irreps.spherical_harmonics(2),
            layers=2,
            max_radius=max_radius,
            number_of_basis=8,
            radial_layers=1,
            radial_neurons=16,
            num_neighbors=3.0,
            num_nodes=5.0,
        )
    return model.eval()


def egnn(seed: int = 0, *, dim: int = 4, dtype: torch.dtype = torch.float64) -> nn.Module:
    """egnn-pytorch ``EGNN`` layer: ``(feats (B, N, dim), coors (B, N, 3)) -> (feats, coors)``.

    ``init_eps=0.3`` (egnn-pytorch's default 1e-3 keeps the untrained layer
    within 1e-3 of the identity, which a check can hardly tell from it).
    """
    from egnn_pytorch import EGNN

    with _built(seed, dtype):
        model = EGNN(dim=dim, m_dim=8, init_eps=0.3)
    return model.eval()


def egnn_network(
    seed: int = 0,
    *,
    dim: int = 4,
    num_tokens: int | None = None,
    num_positions: int | None = None,
    dtype: torch.dtype = torch.float64,
) -> nn.Module:
    """egnn-pytorch ``EGNN_Network`` (two layers): ``(feats, coors) -> (feats, coors)``.

    With ``num_tokens`` the first input is a long tensor of tokens ``(B, N)``;
    otherwise float features ``(B, N, dim)``. With ``num_positions`` it adds
    an embedding of the node *index* to the features -- in place
    (``feats += pos_emb``), so that, on float features, it mutates its input.
    """
    from egnn_pytorch import EGNN_Network

    with _built(seed, dtype):
        model = EGNN_Network(
            depth=2,
            dim=dim,
            num_tokens=num_tokens,
            num_positions=num_positions,
            m_dim=8,
            init_eps=0.3,
        )
    return model.eval()


# --------------------------------------------------------------------------- data
def molecules(
    n_graphs: int = 2, n_atoms: int = 5, seed: int = 0, *, spread: float = 1.2
) -> tuple[Tensor, Tensor]:
    """Random molecules: types ``z`` ``(B, N)`` long in ``1..9``, ``pos`` ``(B, N, 3)`` float64.

    With ``spread=1.2`` and the builders' cut-off 2.5 about half of the pairs
    are within the cut-off, so that the radius graphs are neither empty nor
    complete.
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(1, 10, (n_graphs, n_atoms), generator=g)
    pos = spread * torch.randn(n_graphs, n_atoms, 3, generator=g, dtype=torch.float64)
    return z, pos


def as_batch(z: Tensor, pos: Tensor, **per_graph: Tensor):
    """The molecules as one PyG ``Batch`` (``z``, ``pos`` and any ``(B, N, ...)`` extras)."""
    from torch_geometric.data import Batch, Data

    graphs = [
        Data(z=z[k], pos=pos[k], **{key: v[k] for key, v in per_graph.items()})
        for k in range(len(z))
    ]
    return Batch.from_data_list(graphs)
