"""Structured inputs and outputs: mappings, mapping outputs, flat layouts with a batch vector."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

from symnet._util import cast_callable
from symnet.groups import Permutation, Rotation, Translation
from symnet.testing import SymmetryAssertionError, assert_equivariant, assert_invariant
from symnet.testing._structured import Problem, adapt

E3 = Translation(3) * Rotation(3)
E3S = Translation(3) * Rotation(3) * Permutation()


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ mapping inputs
def pair_model(d):
    """{"pos": (B, N, 3), "z": (B, N) long} -> {"energy": (B,), "forces": (B, N, 3)}."""
    pos, z = d["pos"], d["z"].to(d["pos"].dtype)
    diff = pos[..., :, None, :] - pos[..., None, :, :]
    r2 = (diff**2).sum(-1)
    w = z[..., :, None] * z[..., None, :] * torch.exp(-r2 / d["width"])
    return {"energy": 0.5 * w.sum((-1, -2)), "forces": (w[..., None] * diff).sum(-2)}


def _mapping(B: int = 3, N: int = 4) -> dict:
    g = _gen()
    return {
        "pos": torch.randn(B, N, 3, generator=g),
        "z": torch.randint(1, 4, (B, N), generator=g),
        "width": 2.0,
    }


MAP_KINDS = {"pos": "point", "z": "label"}


def test_mapping_inputs_and_outputs_pass_their_symmetry():
    report = assert_equivariant(
        pair_model, E3S, _mapping(), MAP_KINDS, {"energy": "global", "forces": "vector"}
    )
    names = {r.output for r in report.results}
    assert names == {"out['energy']", "out['forces']"}
    assert report.max_error < 1e-12


def test_mapping_output_with_a_position_leak_fails_naming_the_key():
    def leaky(d):
        out = pair_model(d)
        return {**out, "energy": out["energy"] + d["pos"][..., 0, 0]}

    with pytest.raises(SymmetryAssertionError) as err:
        assert_equivariant(
            leaky, E3S, _mapping(), MAP_KINDS, {"energy": "global", "forces": "vector"}
        )
    text = str(err.value)
    assert "out['energy']" in text
    failed = {r.output for r in err.value.report.results if not r.passed}
    assert failed == {"out['energy']"}


def test_mapping_invariance_checks_every_tensor_output_and_skips_none_values():
    def with_none(d):
        return {"energy": pair_model(d)["energy"], "stress": None}

    report = assert_invariant(with_none, E3S, _mapping(), MAP_KINDS)
    assert {r.output for r in report.results} == {"out['energy']"}


def test_out_kinds_none_entry_is_not_checked():
    report = assert_equivariant(
        pair_model, E3S, _mapping(), MAP_KINDS, {"energy": "global", "forces": None}
    )
    assert {r.output for r in report.results} == {"out['energy']"}


def test_label_permuted_with_the_particles_and_a_wrong_label_order_fails():
    def ignores_label_order(d):  # pairs particle i with the label of particle N-1-i
        return pair_model({**d, "z": d["z"].flip(-1)})["energy"]

    assert assert_invariant(lambda d: pair_model(d)["energy"], E3S, _mapping(), MAP_KINDS).passed
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle|sample"):
        assert_invariant(ignores_label_order, Permutation(), _mapping(), MAP_KINDS)


def test_mapping_with_a_batched_edge_index_is_relabelled_under_permutations():
    B, N = 3, 5
    ring = torch.stack([torch.arange(N), (torch.arange(N) + 1) % N])
    inputs = {"pos": torch.randn(B, N, 3, generator=_gen()), "edge_index": ring.expand(B, 2, N)}

    def bonds(d):  # (B, N, 3), (B, 2, E) -> per-node sum of bond vectors, (B, N, 3)
        src, dst = d["edge_index"][:, 0], d["edge_index"][:, 1]
        pick = lambda i: torch.gather(d["pos"], 1, i[..., None].expand(-1, -1, 3))  # noqa: E731
        return torch.zeros_like(d["pos"]).scatter_add(
            1, dst[..., None].expand(-1, -1, 3), pick(src) - pick(dst)
        )

    kinds = {"pos": "point", "edge_index": "index"}
    assert assert_equivariant(bonds, E3S, inputs, kinds, "vector").passed


def test_fn_gets_a_mapping_of_the_same_type_keys_and_pass_through_values():
    seen = []

    def record(d):
        seen.append((type(d), list(d), d["width"]))
        return d["pos"].norm(dim=-1).sum(-1)

    inputs = OrderedDict(_mapping())
    [p] = adapt(record, inputs, MAP_KINDS, None)
    p.fn(*p.inputs)
    assert seen == [(OrderedDict, ["pos", "z", "width"], 2.0)]
    assert p.input_names == ("inputs['pos']", "inputs['z']")
    assert p.output_names == ["out"]  # filled by the first call


@pytest.mark.parametrize(
    ("kinds", "error", "match"),
    [
        ({"pos": "point"}, ValueError, r"inputs\['z'\] has no kind"),
        ({**MAP_KINDS, "vel": "vector"}, ValueError, r"kinds\['vel'\] names no entry"),
        ({**MAP_KINDS, "width": "global"}, TypeError, r"inputs\['width'\] is a float"),
        (("point", "label"), TypeError, "kinds must be a mapping"),
        ({"pos": "point", "z": "nonsense"}, ValueError, r"kinds\['z'\]"),
    ],
)
def test_mapping_kind_errors_name_the_key(kinds, error, match):
    with pytest.raises(error, match=match):
        assert_invariant(lambda d: d["pos"].sum((-1, -2)), E3, _mapping(), kinds)


@pytest.mark.parametrize(
    ("out_kinds", "error", "match"),
    [
        ({"energy": "global"}, ValueError, r"out\['forces'\] has no entry in out_kinds"),
        (
            {"energy": "global", "forces": "vector", "stress": "global"},
            ValueError,
            r"out_kinds\['stress'\] names no tensor output",
        ),
        (("global", "vector"), TypeError, "returned a mapping"),
        ({"energy": None, "forces": None}, ValueError, "every entry of out_kinds is None"),
    ],
)
def test_mapping_output_errors_name_the_key(out_kinds, error, match):
    with pytest.raises(error, match=match):
        assert_equivariant(pair_model, E3S, _mapping(), MAP_KINDS, out_kinds)


def test_nested_mapping_inputs_are_refused_naming_the_key():
    inputs = {**_mapping(), "extra": {"vel": torch.randn(3, 4, 3)}}
    with pytest.raises(TypeError, match=r"inputs\['extra'\] is a dict holding tensors"):
        assert_invariant(lambda d: d["pos"].sum((-1, -2)), E3, inputs, MAP_KINDS)


def test_out_kinds_mapping_for_a_tensor_output_is_refused():
    with pytest.raises(TypeError, match="out_kinds is a mapping"):
        assert_equivariant(
            lambda d: pair_model(d)["energy"], E3S, _mapping(), MAP_KINDS, {"energy": "global"}
        )


def test_tensor_inputs_with_a_mapping_output():
    def model(pos):
        return {"centre": pos.mean(-2, keepdim=True), "spread": pos.var(-2).sum(-1)}

    pos = torch.randn(3, 5, 3, generator=_gen())
    report = assert_equivariant(model, E3S, pos, "point", {"centre": "point", "spread": "global"})
    assert {r.output for r in report.results} == {"out['centre']", "out['spread']"}
    assert adapt(model, pos, "point", None) is None
    assert adapt(model, (pos,), ("point",), "point") is None


class DictLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, d):
        return self.lin(d["h"])


def test_problem_fn_is_a_module_that_casts_the_users_model():
    model = DictLinear()
    [p] = adapt(model, {"h": torch.randn(2, 3)}, {"h": "global"}, None)
    assert isinstance(p, Problem) and isinstance(p.fn, torch.nn.Module)
    cast = cast_callable(p.fn, torch.float64)
    assert cast(torch.randn(2, 3, dtype=torch.float64))[0].dtype == torch.float64
    assert model.lin.weight.dtype == torch.float32  # the user's module is untouched
    report = assert_invariant(model, Rotation(3), {"h": torch.randn(2, 3)}, {"h": "global"})
    assert report.passed


def test_user_mapping_is_not_modified():
    inputs = _mapping()
    before = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    def mutating(d):
        d["pos"] += 1.0  # in place on what it was given
        d["extra"] = 1
        return d["pos"].norm(dim=-1).sum(-1)

    with pytest.raises(ValueError, match="modifies its input"):
        assert_invariant(mutating, E3, inputs, MAP_KINDS)
    assert list(inputs) == list(before)
    assert torch.equal(inputs["pos"], before["pos"])


# ------------------------------------------------------------------ flat layouts
def _flat(sizes=(3, 4, 3), seed: int = 0):
    g = _gen(seed)
    n = sum(sizes)
    z = torch.randint(1, 5, (n,), generator=g)
    pos = torch.randn(n, 3, generator=g)
    batch = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return z, pos, batch


def _pairs_within(batch):
    i, j = torch.meshgrid(torch.arange(batch.numel()), torch.arange(batch.numel()), indexing="ij")
    keep = (batch[i] == batch[j]) & (i != j)
    return i[keep], j[keep]


def schnet_like(z, pos, batch):
    """SchNet's call convention: flat ``(sum N_i,)`` types, ``(sum N_i, 3)`` positions -> (B, 1)."""
    i, j = _pairs_within(batch)
    r = (pos[i] - pos[j]).norm(dim=-1)
    h = z.to(pos.dtype)
    e = h[i] * h[j] * torch.exp(-r)
    per_node = torch.zeros_like(h).index_add(0, i, e)
    B = int(batch.max()) + 1
    return torch.zeros(B, 1, dtype=pos.dtype).index_add(0, batch, per_node[:, None])


def test_flat_layout_with_batch_vector_passes_and_splits_by_node_count():
    report = assert_invariant(schnet_like, E3S, _flat(), ("label", "point", "batch"))
    labels = {r.name.split(":")[0] for r in report.results}
    assert labels == {"graphs of 3 nodes", "graphs of 4 nodes"}
    assert report.max_error < 1e-12


def test_flat_problems_stack_graphs_of_equal_size():
    z, pos, batch = _flat((3, 4, 3))
    problems = adapt(schnet_like, (z, pos, batch), ("label", "point", "batch"), None)
    assert [p.label for p in problems] == ["graphs of 3 nodes", "graphs of 4 nodes"]
    three = problems[0]
    assert [tuple(x.shape) for x in three.inputs] == [(2, 3), (2, 3, 3)]
    assert torch.equal(three.inputs[1][1], pos[7:10])
    assert three.input_names == ("inputs[0]", "inputs[1]")
    # the rebuilt call sees the two 3-node graphs as a batch of 2
    out = three.fn(*three.inputs)
    two = torch.tensor([0, 0, 0, 1, 1, 1])
    expected = schnet_like(torch.cat([z[:3], z[7:]]), torch.cat([pos[:3], pos[7:]]), two)
    assert torch.allclose(out[0], expected)


def test_flat_per_node_outputs_are_matched_by_shape():
    def forces(z, pos, batch):
        i, j = _pairs_within(batch)
        d = pos[i] - pos[j]
        w = (z[i] * z[j]).to(pos.dtype) * torch.exp(-(d**2).sum(-1))
        return torch.zeros_like(pos).index_add(0, i, w[:, None] * d), schnet_like(z, pos, batch)

    report = assert_equivariant(
        forces, E3S, _flat(), ("label", "point", "batch"), ("vector", "global")
    )
    assert {r.output for r in report.results} == {"out[0]", "out[1]"}


def test_flat_index_dependent_embedding_fails_under_permutations():
    def position_embedding(z, pos, batch):
        h = z.to(pos.dtype) + torch.arange(z.numel(), dtype=pos.dtype)  # depends on the node's row
        return torch.zeros(int(batch.max()) + 1, dtype=pos.dtype).index_add(
            0, batch, h * pos.norm(dim=-1)
        )

    assert_invariant(position_embedding, Rotation(3), _flat(), ("label", "point", "batch"))
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle"):
        assert_invariant(
            position_embedding, Permutation(), _flat(), ("label", "point", "batch"), n_samples=0
        )


def test_flat_mapping_with_edge_index_like_gate_points():
    """e3nn's gate_points_2101.Network style: a dict with pos, x and batch; edges inside."""
    z, pos, batch = _flat((4, 4))
    chain = torch.tensor([[0, 1, 2, 4, 5, 6], [1, 2, 3, 5, 6, 7]])  # a path in each graph
    edge_index = torch.cat([chain, chain.flip(0)], dim=1)
    x = torch.randn(pos.shape[0], 2, generator=_gen(1))

    def net(d):
        src, dst = d["edge_index"]
        r = (d["pos"][src] - d["pos"][dst]).norm(dim=-1, keepdim=True)
        msg = d["x"][src] * torch.exp(-r) * d.get("w", 1.0)
        node = torch.zeros_like(d["x"]).index_add(0, dst, msg)
        graph = torch.zeros(2, 2, dtype=node.dtype).index_add(0, d["batch"], node)
        return {"node": node, "graph": graph * d["q"]}

    w = torch.rand(edge_index.shape[1], 1, generator=_gen(2))  # per edge, invariant
    q = torch.tensor([[1.0], [-2.0]])  # per graph
    inputs = {"pos": pos, "x": x, "edge_index": edge_index, "batch": batch, "w": w, "q": q}
    kinds = {
        "pos": "point",
        "x": "scalar",
        "edge_index": "index",
        "batch": "batch",
        "w": "global",
        "q": "global",
    }
    report = assert_equivariant(net, E3S, inputs, kinds, {"node": "scalar", "graph": "global"})
    assert report.passed
    # declared constant, the edges are not relabelled under permutations: the check fails
    # (a constant is passed whole, so no input can be per edge)
    del inputs["w"], kinds["w"]
    out_kinds = {"node": "scalar", "graph": "global"}
    assert assert_equivariant(net, Permutation(), inputs, kinds, out_kinds).passed
    fixed = {**kinds, "edge_index": "constant"}
    with pytest.raises(SymmetryAssertionError):
        assert_equivariant(net, Permutation(), inputs, fixed, {"node": "scalar", "graph": "global"})


@pytest.mark.parametrize(
    ("inputs", "kinds", "error", "match"),
    [
        ("two_batches", ("label", "batch", "batch"), ValueError, "2 inputs"),
        ("float_batch", ("label", "point", "batch"), ValueError, r"inputs\[2\] of kind batch"),
        ("skipped_id", ("label", "point", "batch"), ValueError, r"skips graph id"),
        ("short_pos", ("label", "point", "batch"), ValueError, r"inputs\[1\] has kind point"),
        (
            "node_global",
            ("global", "point", "batch"),
            ValueError,
            r"inputs\[0\] has one row per node",
        ),
        ("cross_edge", ("index", "point", "batch"), ValueError, "different graphs"),
    ],
)
def test_flat_layout_errors_name_the_input(inputs, kinds, error, match):
    z, pos, batch = _flat((3, 4))
    args = {
        "two_batches": (z, batch, batch),
        "float_batch": (z, pos, batch.double()),
        "skipped_id": (z, pos, batch * 2),
        "short_pos": (z, pos[:-1], batch),
        "node_global": (z.double()[:, None], pos, batch),
        "cross_edge": (torch.tensor([[0, 1], [1, 5]]), pos, batch),
    }[inputs]
    with pytest.raises(error, match=match):
        adapt(lambda *a: a[1].sum(), args, kinds, None)


def test_flat_layout_accepts_unsorted_batch_vectors():
    z, pos, batch = _flat((3, 3))
    perm = torch.tensor([0, 3, 1, 4, 2, 5])  # interleave the two graphs' nodes
    [p] = adapt(schnet_like, (z[perm], pos[perm], batch[perm]), ("label", "point", "batch"), None)
    [q] = adapt(schnet_like, (z, pos, batch), ("label", "point", "batch"), None)
    for a, b in zip(p.inputs, q.inputs, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(p.fn(*p.inputs)[0], schnet_like(z, pos, batch))
