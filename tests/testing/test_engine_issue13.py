"""Issue 13, the testing engine: integer inputs, autograd forces, per-factor elements,
vacuous checks, input mutation, float32-built modules, fast mode, structured problems."""

from __future__ import annotations

import warnings

import pytest
import torch
from e3nn import o3
from torch import Tensor, nn

from symnet.groups import Permutation, Rotation, Translation
from symnet.groups.utils import default_dtype
from symnet.testing import (
    InputMutationError,
    SymmetryAssertionError,
    SymmetryWarning,
    assert_equivariant,
    assert_invariant,
)
from tests.testing._functions import pair_differences, randn

E3 = Translation(3) * Rotation(3)
E3xSN = Translation(3) * Rotation(3) * Permutation()


def pair_sq(q: Tensor) -> Tensor:
    return (pair_differences(q) ** 2).sum((-1, -2))


# ----------------------------------------------------------------- integer inputs
class TypedEnergy(nn.Module):
    """Pair energy with per-atom types ``z`` (long): ``(B, N, 3), (B, N) -> (B,)``."""

    def __init__(self, index_dependent: bool = False) -> None:
        super().__init__()
        self.emb = nn.Embedding(4, 3)
        self.index_dependent = index_dependent
        self.seen: list[torch.dtype] = []

    def forward(self, q: Tensor, z: Tensor) -> Tensor:
        self.seen.append(z.dtype)
        h = self.emb(z).sum(-1)  # (B, N)
        if self.index_dependent:  # an embedding of the particle's index: breaks S_N
            h = h + torch.arange(q.shape[-2], dtype=q.dtype)
        r = (q[..., :, None, :] - q[..., None, :, :]).pow(2).sum(-1)  # (B, N, N)
        return (h[..., :, None] * h[..., None, :] * torch.exp(-r)).sum((-1, -2))


def test_label_inputs_are_batched_permuted_and_never_cast():
    q, z = randn(3, 5, 3), torch.randint(0, 4, (3, 5), generator=torch.Generator().manual_seed(0))
    model = TypedEnergy()
    weight = model.emb.weight.detach().clone()
    report = assert_invariant(model, E3xSN, (q, z), ("point", "label"))
    assert report.passed and report.derivative_method == "jvp"
    assert set(model.seen) == {torch.int64}  # never cast to the check's float64
    assert model.emb.weight.dtype == torch.float32 and torch.equal(model.emb.weight, weight)
    with pytest.raises(SymmetryAssertionError, match="transposition_01|cycle"):
        assert_invariant(TypedEnergy(index_dependent=True), E3xSN, (q, z), ("point", "label"))


def test_label_values_reach_fn_as_integers():
    seen = []

    def fn(q: Tensor, z: Tensor) -> Tensor:
        seen.append(z.dtype)
        return pair_sq(q) * (1.0 + z.sum(-1).to(q.dtype))

    z = torch.tensor([[0, 1, 2, 3], [3, 3, 1, 0]])
    assert assert_invariant(fn, E3xSN, (randn(2, 4, 3), z), ("point", "label")).passed
    assert set(seen) == {torch.int64}


def test_integer_input_with_a_floating_kind_names_the_integer_kinds():
    z = torch.zeros(2, 4, 1, dtype=torch.long)
    with pytest.raises(TypeError, match=r"(?s)inputs\[1\].*int64.*'label'.*'index'.*'constant'"):
        assert_invariant(lambda q, z: pair_sq(q), E3xSN, (randn(2, 4, 3), z), ("point", "scalar"))


def bonds(q: Tensor, edges: Tensor) -> Tensor:
    """Per-particle sum of bond vectors: ``(B, N, 3), (B, 2, E) -> (B, N, 3)``, a vector."""
    src, dst = edges[:, 0], edges[:, 1]  # (B, E)
    rows = torch.arange(q.shape[0])[:, None]
    diff = q[rows, src] - q[rows, dst]  # (B, E, 3)
    return torch.zeros_like(q).index_put((rows.expand_as(dst), dst), diff, accumulate=True)


def test_index_inputs_are_relabelled_by_permutations():
    q = randn(2, 5, 3)
    edges = torch.tensor([[[0, 1, 2, 3], [1, 2, 3, 4]], [[4, 0, 1, 2], [0, 2, 3, 1]]])
    report = assert_equivariant(bonds, E3xSN, (q, edges), ("point", "index"), "vector")
    assert report.passed and "transposition_01" in report.element_errors
    with pytest.raises(SymmetryAssertionError, match="translation"):
        assert_equivariant(
            lambda q, e: bonds(q, e) + q, E3xSN, (q, edges), ("point", "index"), "vector"
        )


# ----------------------------------------------------------------- autograd forces
class PairMLP(nn.Module):
    """Energy of pair distances ``E(q)``, with forces ``-dE/dq`` from ``torch.autograd.grad``."""

    def __init__(self, create_graph: bool = True, metric: tuple = (1.0, 1.0, 1.0)) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.mlp = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
        self.create_graph = create_graph
        self.register_buffer("metric", torch.tensor(metric))

    def energy(self, q: Tensor) -> Tensor:
        r = (pair_differences(q).pow(2) * self.metric).sum(-1).sqrt()  # (B, P)
        return self.mlp(r[..., None]).sum((-1, -2))

    def forward(self, q: Tensor) -> Tensor:
        with torch.enable_grad():
            if not q.requires_grad:
                q = q.requires_grad_(True)
            e = self.energy(q)
            (grad,) = torch.autograd.grad(e.sum(), q, create_graph=self.create_graph)
        return -grad


@pytest.mark.parametrize(
    ("create_graph", "method"), [(True, "double-vjp"), (False, "finite-difference")]
)
def test_autograd_forces_are_checked_infinitesimally(create_graph, method):
    q = randn(3, 4, 3)
    report = assert_equivariant(PairMLP(create_graph), E3xSN, q, "point", "vector")
    assert report.derivative_method == method and method in str(report)
    assert report.passed and set(report.generator_errors) == set(E3xSN.generator_names())
    assert report.max_error < 1e-9
    broken = PairMLP(create_graph, metric=(1.0, 1.0, 2.0))
    with pytest.raises(SymmetryAssertionError, match="rotation") as info:
        assert_equivariant(broken, E3xSN, q, "point", "vector")
    failed = {r.name for r in info.value.report.failures}
    assert {"rotation_x", "rotation_y"} <= failed and "rotation_z" not in failed
    assert not {"translation_x", "translation_y", "translation_z"} & failed


def test_cdist_models_fall_back_to_finite_differences():
    def cdist_energy(q: Tensor, metric: tuple = (1.0, 1.0, 1.0)) -> Tensor:
        x = q * torch.tensor(metric, dtype=q.dtype)
        return torch.exp(-torch.cdist(x, x)).sum((-1, -2))

    q = randn(3, 4, 3)
    report = assert_invariant(cdist_energy, E3xSN, q, "point")
    assert report.derivative_method == "finite-difference" and report.max_error < 1e-9
    with pytest.raises(SymmetryAssertionError, match="rotation_x|rotation_y") as info:
        assert_invariant(lambda q: cdist_energy(q, (1.0, 1.0, 1.5)), E3xSN, q, "point")
    assert info.value.report.generator_errors["rotation_x"] > 1e-3


def test_product_failures_name_the_factor():
    def anisotropic(q: Tensor) -> Tensor:  # translation invariant, not rotation invariant
        return (pair_differences(q) ** 2 * torch.tensor([1.0, 2.0, 3.0], dtype=q.dtype)).sum(
            (-1, -2)
        )

    with pytest.raises(SymmetryAssertionError) as info:
        assert_invariant(anisotropic, E3xSN, randn(2, 4, 3), "point")
    rows = {r.name: r for r in info.value.report.results}
    assert (
        not rows["rotation sample 0"].passed and rows["rotation sample 0"].factor == "Rotation(3)"
    )
    assert rows["translation sample 0"].passed
    assert "an element of the factor Rotation(3) alone" in rows["rotation sample 0"].describe("G")


# ----------------------------------------------------------------- vacuous checks
class ZeroHead(nn.Module):
    """A model whose last layer is zero-initialised (PyG DimeNet++'s default): outputs 0."""

    def __init__(self) -> None:
        super().__init__()
        self.out = nn.Linear(1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, q: Tensor) -> Tensor:
        return self.out(pair_sq(q)[:, None])[:, 0]


@pytest.mark.parametrize(
    ("fn", "reason"),
    [
        (ZeroHead(), "identically 0.*output_initializer"),
        (lambda q: q.new_ones(q.shape[0]), "not change"),
    ],
    ids=["zero", "constant"],
)
def test_vacuous_checks_warn_and_fail_when_strict(fn, reason):
    q = randn(2, 4, 3)
    with pytest.warns(SymmetryWarning, match=f"(?s)vacuously.*{reason}"):
        report = assert_invariant(fn, E3xSN, q, "point")
    assert report.vacuous and report.passed and "VACUOUS" in str(report)
    with pytest.raises(SymmetryAssertionError, match=f"(?s)vacuous.*{reason}") as info:
        assert_invariant(fn, E3xSN, q, "point", strict=True)
    assert info.value.report.vacuous and not info.value.report.passed


def test_zero_equivariant_output_is_vacuous():
    with pytest.warns(SymmetryWarning, match="out is identically 0"):
        report = assert_equivariant(torch.zeros_like, E3xSN, randn(2, 4, 3), "point", "vector")
    assert report.vacuous


def test_genuine_invariants_are_not_vacuous():
    q, feats = randn(2, 4, 3), randn(2, 4, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymmetryWarning)
        for report in (
            assert_invariant(pair_sq, E3xSN, q, "point", strict=True),
            # ignores the positions entirely, but depends on the (permuted) features
            assert_invariant(lambda q, h: h.sum((-1, -2)), E3xSN, (q, feats), ("point", "scalar")),
            assert_equivariant(
                lambda q: q.mean(-2, keepdim=True), E3xSN, q, "point", "point", strict=True
            ),
        ):
            assert report.passed and not report.vacuous and report.vacuous_reason == ""


# ----------------------------------------------------------------- input mutation
class InPlaceEmbedding(nn.Module):
    """``feats += pos_emb`` on its input, like egnn-pytorch's EGNN_Network(num_positions=...)."""

    def __init__(self) -> None:
        super().__init__()
        self.pos_emb = nn.Embedding(4, 2)

    def forward(self, feats: Tensor, q: Tensor) -> Tensor:
        feats += self.pos_emb(torch.arange(feats.shape[-2]))
        return feats.sum((-1, -2)) + pair_sq(q)


def test_in_place_mutation_is_reported_not_blamed_on_an_element():
    feats, q = randn(2, 4, 2), randn(2, 4, 3)
    feats0 = feats.clone()
    with pytest.raises(
        InputMutationError, match=r"InPlaceEmbedding modifies its input inputs\[0\]"
    ):
        assert_invariant(InPlaceEmbedding(), E3, (feats, q), ("scalar", "point"))
    assert torch.equal(feats, feats0)
    assert issubclass(InputMutationError, ValueError)
    with pytest.raises(InputMutationError, match=r"inputs\[1\] in place"):
        assert_invariant(lambda h, q: pair_sq(q.mul_(2.0)), E3, (feats, q), ("scalar", "point"))


# ----------------------------------------------------------------- float32-built modules
def test_float32_built_e3nn_modules_pass_with_a_stated_tolerance():
    x, y = randn(4, 3, seed=1), randn(4, 3, seed=2)
    tp = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e")
    report = assert_equivariant(tp, Rotation(3), (x, y), ("1o", "1o"), "0e + 1e + 2e")
    assert report.tolerance.rtol == 1e-5 and "float32" in report.tolerance_note
    assert "tolerance: rtol=1e-05" in str(report) and report.max_error > 1e-10
    # .double() keeps float32-accurate values in float64 buffers: still recognised
    report = assert_equivariant(tp.double(), Rotation(3), (x, y), ("1o", "1o"), "0e + 1e + 2e")
    assert report.tolerance.rtol == 1e-5
    lin = o3.Linear("2x0e + 1o", "0e + 2x1o")
    assert assert_equivariant(lin, Rotation(3), randn(4, 5), "2x0e + 1o", "0e + 2x1o").passed
    with default_dtype(torch.float64):
        tp64 = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e")
    report = assert_equivariant(tp64, Rotation(3), (x, y), ("1o", "1o"), "0e + 1e + 2e")
    assert report.tolerance.rtol == 1e-9 and report.tolerance_note == ""


def test_broken_float32_module_fails_without_the_precision_hint():
    tp = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e")
    x, y = randn(4, 3, seed=1), randn(4, 3, seed=2)
    with pytest.raises(SymmetryAssertionError) as info:  # outputs declared in the wrong order
        assert_equivariant(tp, Rotation(3), (x, y), ("1o", "1o"), "2e + 1e + 0e")
    assert info.value.report.max_error > 1e-2 and info.value.report.hint == ""
    assert "default_dtype" not in str(info.value)
    # in the float32 band with an explicit float64 tolerance: the hint explains it
    with pytest.raises(SymmetryAssertionError, match="default_dtype"):
        assert_equivariant(tp, Rotation(3), (x, y), ("1o", "1o"), "0e + 1e + 2e", rtol=1e-9)


# ----------------------------------------------------------------- speed settings
def test_fast_mode_runs_fewer_checks_and_still_fails_broken_models():
    q = randn(2, 4, 3)
    full = assert_invariant(pair_sq, E3xSN, q, "point")
    fast = assert_invariant(pair_sq, E3xSN, q, "point", fast=True)
    assert len(fast.element_errors) == 2 + 2 < len(full.element_errors)  # no factor samples
    assert set(fast.generator_errors) == set(E3xSN.generator_names())
    with pytest.raises(SymmetryAssertionError, match="translation"):
        assert_invariant(lambda q: pair_sq(q) + q[..., 0].sum(-1), E3xSN, q, "point", fast=True)


def test_functions_that_mix_rows_are_evaluated_one_by_one():
    """A batch-dependent fn must be judged as it is called, not on a stacked batch."""

    def normalised(q: Tensor) -> Tensor:  # invariant row by row, but mixes the rows
        e = pair_sq(q)
        return e / e.mean()

    q = randn(3, 4, 3)
    assert assert_invariant(normalised, E3xSN, q, "point").max_error < 1e-12
    with pytest.raises(SymmetryAssertionError, match="translation"):
        assert_invariant(lambda q: normalised(q) + q[..., 0].mean(), E3xSN, q, "point")


# ----------------------------------------------------------------- structured problems
def test_structured_problems_are_merged_into_one_report(monkeypatch):
    from symnet.testing import _structured

    def adapt(fn, inputs, in_kinds, out_kinds):
        if not isinstance(inputs, dict):
            return None
        return [
            _structured.Problem(
                fn=lambda q: (fn({"pos": q}),),
                inputs=(inputs[key],),
                in_kinds=("point",),
                out_kinds=None,
                input_names=(f"inputs['pos'] ({key})",),
                output_names=("out['energy']",),
                label=label,
            )
            for key, label in (("a", "graphs of 3 nodes"), ("b", "graphs of 4 nodes"))
        ]

    monkeypatch.setattr(_structured, "adapt", adapt)
    data = {"a": randn(2, 3, 3), "b": randn(2, 4, 3)}
    report = assert_invariant(lambda d: pair_sq(d["pos"]), E3xSN, data, {"pos": "point"})
    names = [r.name for r in report.results]
    assert "graphs of 3 nodes: sample 0" in names and "graphs of 4 nodes: rotation_x" in names
    assert {r.output for r in report.results} == {"out['energy']"}

    def leaky(d: dict) -> Tensor:  # breaks translations on the 4-node graphs only
        q = d["pos"]
        return pair_sq(q) + (q[..., 0].sum(-1) if q.shape[-2] == 4 else 0.0)

    with pytest.raises(SymmetryAssertionError, match="graphs of 4 nodes: ") as info:
        assert_invariant(leaky, E3xSN, data, {"pos": "point"})
    assert all(r.name.startswith("graphs of 4 nodes") for r in info.value.report.failures)

    def mutates(d: dict) -> Tensor:
        return pair_sq(d["pos"].mul_(2.0))

    with pytest.raises(InputMutationError, match=r"inputs\['pos'\] \(a\)"):
        assert_invariant(mutates, E3xSN, data, {"pos": "point"})


def test_float32_constants_are_found_through_a_closure():
    """A float32-built module called from a lambda is judged like the module itself."""
    torch.manual_seed(0)
    tp = o3.FullyConnectedTensorProduct("1o", "1o", "0e + 1e + 2e").double()
    x = torch.randn(4, 3, dtype=torch.float64)
    report = assert_equivariant(lambda a: tp(a, a), Rotation(3), x, "1o", "0e + 1e + 2e")
    assert report.tolerance.rtol > 1e-9 and "float32" in report.tolerance_note
    with pytest.raises(AssertionError, match="Rotation"):
        assert_equivariant(lambda a: tp(a, a), Rotation(3), x, "1o", "2e + 1e + 0e")
