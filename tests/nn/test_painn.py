"""PaiNNLayer and PaiNN: E(d) x S_N equivariance with vector channels, cutoff, mutants, errors."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import symnet.groups
import symnet.nn._painn_core as core
from symnet.groups import Reflection, Rotation, Translation
from symnet.nn import PaiNN, PaiNNLayer
from symnet.nn.painn import VECTOR_CHANNELS
from symnet.testing import SymmetryAssertionError, assert_equivariant

F64 = torch.float64


def _data(b: int = 2, n: int = 5, f: int = 4, c: int = 4, d: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(b, n, f, generator=g, dtype=F64)
    x = torch.randn(b, n, d, generator=g, dtype=F64)
    v = torch.randn(b, n, c, d, generator=g, dtype=F64)
    return h, x, v


def _randomize(module: nn.Module, seed: int = 0, std: float = 0.4) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return module.double()


# ------------------------------------------------------------------ equivariance
@pytest.mark.parametrize(("d", "normalize"), [(2, True), (3, True), (3, False)])
def test_layer_is_equivariant_with_reflections_and_permutations(d, normalize):
    layer = _randomize(PaiNNLayer(4, 8, cutoff=2.5, dim=d, normalize=normalize))
    assert_equivariant(layer, _data(d=d), n_samples=2)


def _reference(layer: PaiNNLayer, s: Tensor, x: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """The paper's eqs. (7)-(12), one particle and one pair at a time (no cutoff, sum)."""
    f, n = layer.features, x.shape[0]
    k = torch.arange(1, layer.n_rbf + 1, dtype=F64) * torch.pi / layer.rbf_cutoff
    s_new, v_new = s.clone(), v.clone()
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            r_ij = x[i] - x[j]
            r = r_ij.norm()
            w = layer.filter(torch.sin(k * r) / r)
            a, b, c = (layer.context_mlp(s[j]) * w).split(f)
            s_new[i] = s_new[i] + a
            v_new[i] = v_new[i] + b[:, None] * v[j] + c[:, None] * (r_ij / r)
    out_s, out_v = s_new.clone(), v_new.clone()
    for i in range(n):
        uv, vv = layer.U.weight @ v_new[i], layer.V.weight @ v_new[i]
        a_vv, a_sv, a_ss = layer.update_mlp(torch.cat([s_new[i], vv.norm(dim=-1)])).split(f)
        out_v[i] = v_new[i] + a_vv[:, None] * uv
        out_s[i] = s_new[i] + a_ss + a_sv * (uv * vv).sum(-1)
    return out_s, out_v


def test_without_normalize_it_is_the_papers_layer():
    layer = _randomize(PaiNNLayer(3, 6, normalize=False))
    s, x, v = _data(b=1, n=4, f=3, c=3)
    with torch.no_grad():
        want = _reference(layer, s[0], x[0], v[0])
        got = layer(s, x, v)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a[0], b, atol=1e-12, rtol=1e-12)
    with torch.no_grad():  # the normalised layer is another function
        assert (_randomize(PaiNNLayer(3, 6))(s, x, v)[1][0] - want[1]).abs().max() > 1e-3


def test_normalize_keeps_deep_stacks_on_large_vectors_bounded():
    h, x, v = _data(n=5, c=1)
    sizes = {}
    for normalize in (True, False):
        torch.manual_seed(0)
        model = PaiNN(4, 16, n_layers=4, in_vector_features=1, normalize=normalize).double()
        with torch.no_grad():
            sizes[normalize] = model(h, 2.0 * x, 5.0 * v)[0].abs().max().item()
    assert sizes[True] < 1e2 < 1e6 < sizes[False]


@pytest.mark.parametrize("kw", [{}, {"cutoff": 2.0, "aggregation": "mean"}])
def test_stack_predicting_positions_is_equivariant(kw):
    model = _randomize(
        PaiNN(
            4,
            8,
            3,
            n_layers=2,
            in_vector_features=2,
            out_vector_features=3,
            predict_positions=True,
            **kw,
        )  # fmt: skip
    )
    h, x, v = _data(c=2)
    assert model.in_kinds == ("scalar", "point", VECTOR_CHANNELS)
    assert model.out_kinds == ("scalar", "point", VECTOR_CHANNELS)
    report = assert_equivariant(model, (h, x, v), n_samples=2)
    assert max(r.error for r in report.results) < 1e-12
    out = model(h, x, v)
    torch.testing.assert_close(out[1], x + out[2][..., 0, :])


def test_stack_without_vectors_declares_and_passes():
    model = _randomize(PaiNN(4, 8, n_layers=2, out_vector_features=2))
    h, x, _ = _data()
    assert model.in_kinds == ("scalar", "point")
    h_out, v_out = model(h, x)
    assert h_out.shape == (2, 5, 8) and v_out.shape == (2, 5, 2, 3)
    assert_equivariant(model, (h, x), n_samples=2)


class _Axial(PaiNNLayer):
    """Mutant: adds ``v_0 x v_1`` (an axial vector) to every vector channel."""

    def forward(self, h, x, v=None):
        h, v = super().forward(h, x, v)
        return h, v + torch.linalg.cross(v[..., :1, :], v[..., 1:2, :])


class _Mixed(PaiNNLayer):
    """Mutant: vectors of the next particle leak into each particle's output."""

    def forward(self, h, x, v=None):
        h, v = super().forward(h, x, v)
        return h, v + 0.1 * v.roll(1, dims=-3) * torch.arange(v.shape[-3]).to(v)[:, None, None]


def test_an_axial_mutant_passes_rotations_and_fails_reflections():
    layer = _randomize(_Axial(4, 8))
    data = _data()
    assert_equivariant(layer, Translation(3) * Rotation(3), data, layer.in_kinds, layer.out_kinds)
    with pytest.raises(SymmetryAssertionError, match="reflection"):
        assert_equivariant(layer, data)
    assert_equivariant(_randomize(PaiNNLayer(4, 8)), Reflection(3), data,
                       layer.in_kinds, layer.out_kinds)  # fmt: skip


def test_a_particle_mixing_mutant_fails_permutations():
    layer = _randomize(_Mixed(4, 8))
    data = _data()
    assert_equivariant(layer, Translation(3) * Rotation(3), data, layer.in_kinds, layer.out_kinds)
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle"):
        assert_equivariant(layer, data)


def test_vector_channels_kind_permutes_particles_not_channels():
    from symnet.groups import Permutation

    v = torch.arange(3 * 2 * 3, dtype=F64).reshape(1, 3, 2, 3)
    g = torch.tensor([[2, 0, 1]])
    moved = Permutation().act(g, v, VECTOR_CHANNELS)
    torch.testing.assert_close(moved, v[:, [2, 0, 1]])
    assert str(VECTOR_CHANNELS) == "vector channels"
    assert symnet.groups.VECTOR_CHANNELS is VECTOR_CHANNELS  # one kind, defined in symnet.groups


# ------------------------------------------------------------------ masks
@pytest.mark.parametrize("kw", [{}, {"cutoff": 1.5, "aggregation": "mean"}])
def test_padding_changes_nothing_for_real_particles(kw):
    model = _randomize(PaiNN(4, 8, 3, n_layers=2, in_vector_features=2, predict_positions=True,
                             **kw))  # fmt: skip
    h, x, v = _data(n=6, c=2)
    mask = torch.tensor([[1, 1, 0, 1, 1, 1], [1, 0, 1, 1, 0, 1]], dtype=torch.bool)
    pad = [t.clone() for t in (h, x, v)]
    for t in pad:
        t[~mask] = float("nan")
    for t in pad:
        t.requires_grad_(True)
    outs = model(*pad, mask=mask)
    for b in range(2):
        ref = model(h[b : b + 1, mask[b]], x[b : b + 1, mask[b]], v[b : b + 1, mask[b]])
        for got, want in zip(outs, ref, strict=True):
            torch.testing.assert_close(got[b : b + 1, mask[b]], want, atol=1e-12, rtol=1e-12)
    assert (outs[0][~mask] == 0).all() and torch.equal(
        outs[1][~mask].isnan(), pad[1][~mask].isnan()
    )
    sum(o[mask].sum() for o in outs).backward()
    for t in pad:
        assert torch.isfinite(t.grad).all() and (t.grad[~mask] == 0).all()
    layer = _randomize(PaiNNLayer(4, 8, **kw))
    s, w = layer(pad[0], pad[1], None, mask=mask)
    torch.testing.assert_close(s[0, mask[0]], layer(h[:1, mask[0]], x[:1, mask[0]])[0][0])
    assert s[~mask].isnan().all()  # padding comes back as it came in


class _Masked(nn.Module):
    """The mask as a per-particle scalar, so that permutations move it with the particles."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.group, self.out_kinds = model.group, model.out_kinds
        self.in_kinds = (*model.in_kinds, "scalar")

    def forward(self, h, x, v, keep):
        return self.model(h, x, v, mask=keep[..., 0] > 0.5)


def test_masked_stack_is_equivariant():
    model = _randomize(PaiNN(4, 8, 2, n_layers=2, in_vector_features=2, predict_positions=True))
    h, x, v = _data(n=6, c=2)
    keep = torch.tensor([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 0]], dtype=F64)[..., None]
    assert_equivariant(_Masked(model), (h, x, v, keep), n_samples=2)


class _Charged(nn.Module):
    """Charges ``q`` (a per-particle scalar) as pair attributes ``q_i q_j``, and a mask."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.group, self.out_kinds = model.group, model.out_kinds
        self.in_kinds = (*model.in_kinds, "scalar", "scalar")

    def forward(self, h, x, v, q, keep):
        qq = (q * q.transpose(-1, -2))[..., None]
        return self.model(h, x, v, mask=keep[..., 0] > 0.5, edge_attr=qq)


def test_edge_attributes_with_masks_are_equivariant_and_matter():
    model = _randomize(PaiNN(4, 8, 2, n_layers=2, in_vector_features=2, predict_positions=True,
                             edge_features=1))  # fmt: skip
    h, x, v = _data(n=6, c=2)
    q = torch.randn(2, 6, 1, dtype=F64)
    keep = torch.tensor([[1, 1, 0, 1, 1, 0], [1, 1, 1, 1, 1, 0]], dtype=F64)[..., None]
    charged = _Charged(model)
    assert_equivariant(charged, (h, x, v, q, keep), n_samples=2)
    moved = charged(h, x, v, -q.roll(1, -2), keep)[1] - charged(h, x, v, q, keep)[1]
    assert moved[keep[..., 0] > 0.5].abs().max() > 1e-3
    # a mutant reading the attributes of the pair (i, j) at (j, i) in the wrong particle order
    mutant = _Charged(model)
    mutant.forward = lambda h, x, v, q, keep: model(  # type: ignore[method-assign]
        h, x, v, mask=keep[..., 0] > 0.5, edge_attr=(q * q.transpose(-1, -2)).roll(1, -1)[..., None]
    )
    with pytest.raises(SymmetryAssertionError, match="transposition|cycle"):
        assert_equivariant(mutant, (h, x, v, q, keep), n_samples=2)


def test_bad_masks_are_named():
    h, x, v = _data()
    with pytest.raises(TypeError, match="mask must be a boolean"):
        PaiNNLayer(4).double()(h, x, mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 5\)"):
        PaiNN(4, 8).double()(h, x, mask=torch.ones(2, 4, dtype=torch.bool))


# ------------------------------------------------------------------ cutoff
def _energy(layer: PaiNNLayer, h: Tensor, x: Tensor, v: Tensor) -> Tensor:
    s, w = layer(h, x, v)
    return s.sum((-1, -2)) + (w * w).sum((-1, -2, -3))


def test_a_particle_beyond_the_cutoff_has_no_influence():
    h, x, v = _data(b=1, n=6)
    x = x * 0.5
    far = torch.tensor([10.0, 0.0, 0.0], dtype=F64)
    for cutoff, influenced in ((2.0, False), (None, True)):
        layer = _randomize(PaiNNLayer(4, 8, cutoff=cutoff, rbf_cutoff=3.0))
        outs = []
        for shift in (0.0, 1.0):
            y = x.clone()
            y[0, -1] = far + shift * torch.tensor([1.0, 2.0, -1.0], dtype=F64)
            outs.append([t[0, :-1] for t in layer(h, y, v)])
        gap = max((a - b).abs().max().item() for a, b in zip(*outs, strict=True))
        assert (gap > 1e-6) == influenced, (cutoff, gap)
        if not influenced:
            assert gap == 0.0


def _pair_energy(layer, r: float) -> float:
    h, _, v = _data(b=1, n=2, seed=3)
    x = torch.tensor([[[0.0, 0.0, 0.0], [r, 0.0, 0.0]]], dtype=F64)
    return _energy(layer, h, x, v).item()


def test_energy_is_smooth_as_a_pair_crosses_the_cutoff(monkeypatch):
    layer = _randomize(PaiNNLayer(4, 8, cutoff=2.0))
    rc, eps = 2.0, 1e-3
    outside = _pair_energy(layer, rc + eps)
    jump = abs(_pair_energy(layer, rc - eps) - outside)
    assert outside == _pair_energy(layer, rc + 0.5)  # constant beyond the cutoff
    assert jump < 1e-4  # value and slope vanish at the cutoff: O(eps^2)
    # mutant: a hard cutoff (no cosine factor) jumps
    monkeypatch.setattr(core, "cosine_cutoff", lambda r, c: (r < c).to(r))
    jump = abs(_pair_energy(layer, rc - eps) - _pair_energy(layer, rc + eps))
    assert jump > 1e-2


# ------------------------------------------------------------------ gradients
def test_gradients_flow_to_every_parameter_and_input_even_for_coinciding_particles():
    model = _randomize(PaiNN(4, 8, 2, n_layers=2, in_vector_features=4, out_vector_features=1))
    h, x, v = _data()
    x = x.clone()
    x[0, 1] = x[0, 0]  # two particles at the same place
    x.requires_grad_(True)
    v.requires_grad_(True)
    h_out, v_out = model(h, x, v)
    (h_out.sum() + (v_out**2).sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().max() > 0, name
    assert torch.isfinite(x.grad).all() and torch.isfinite(v.grad).all()
    assert x.grad.abs().max() > 0


def test_training_on_forces_has_finite_second_derivatives():
    model = _randomize(PaiNN(4, 8, 1, n_layers=2, cutoff=2.0))
    h, x, _ = _data()
    x = x.clone()
    x[0, 1] = x[0, 0]
    x.requires_grad_(True)
    (force,) = torch.autograd.grad(model(h, x)[0].sum(), x, create_graph=True)
    (force**2).sum().backward()
    assert torch.isfinite(force).all()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert len(grads) > 10  # (biases of the last layers do not reach the forces)
    for name, grad in grads.items():
        assert torch.isfinite(grad).all(), name


def test_rbf_is_smooth_at_zero():
    r = torch.tensor([0.0, 1e-8], dtype=F64, requires_grad=True)
    basis = core.sine_rbf(r, 4, 2.0)
    torch.testing.assert_close(basis[0], basis[1])
    torch.testing.assert_close(basis[0], torch.arange(1, 5, dtype=F64) * torch.pi / 2.0)


def test_learns_an_equivariant_target_quickly():
    """Target: ``sum_j (x_i - x_j) exp(-|x_i - x_j|^2)`` per particle; loss must drop."""
    torch.manual_seed(0)
    model = PaiNN(1, 16, 1, n_layers=2, out_vector_features=1).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(64, 5, 3, generator=g, dtype=F64)
    h = torch.ones(64, 5, 1, dtype=F64)
    diff = x[:, :, None] - x[:, None]
    target = (diff * torch.exp(-(diff**2).sum(-1, keepdim=True))).sum(2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((model(h, x)[1][..., 0, :] - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ------------------------------------------------------------------ errors, repr
def test_bad_inputs_name_the_argument():
    model = PaiNN(4, 8, in_vector_features=2).double()
    h, x, v = _data(c=2)
    with pytest.raises(ValueError, match="h .* and x .* must agree"):
        model(h[:, :4], x, v)
    with pytest.raises(ValueError, match="h must have 4 features"):
        model(h[..., :3], x, v)
    with pytest.raises(ValueError, match=r"v must have shape \(\.\.\., N, C, d\)"):
        model(h, x, v[..., :1, :])
    with pytest.raises(ValueError, match="pass v"):
        model(h, x)
    with pytest.raises(ValueError, match="in_vector_features=0"):
        PaiNN(4, 8).double()(h, x, v)
    with pytest.raises(TypeError, match="x is torch.float32"):
        model(h, x.float(), v)
    with pytest.raises(ValueError, match="v must have shape"):
        PaiNNLayer(4).double()(h, x, v)  # 2 channels, the layer has 4
    for bad in ({"n_rbf": 0}, {"cutoff": -1.0}, {"aggregation": "max"}, {"dim": 1}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            PaiNNLayer(4, **bad)
    with pytest.raises(ValueError, match="n_layers"):
        PaiNN(4, 8, n_layers=0)
    with pytest.raises(ValueError, match="pass edge_attr"):
        PaiNN(4, 8, edge_features=1).double()(h, x)
    with pytest.raises(ValueError, match="edge_features=0"):
        PaiNNLayer(4).double()(h, x, edge_attr=torch.ones(2, 5, 5, 1, dtype=F64))
    with pytest.raises(ValueError, match=r"edge_attr must have shape \(2, 5, 5, 2\)"):
        PaiNNLayer(4, edge_features=2).double()(h, x, edge_attr=torch.ones(2, 5, 5, 1, dtype=F64))


def test_repr_and_inputs_unchanged():
    layer = PaiNNLayer(8, cutoff=3.0)
    assert repr(layer) == "PaiNNLayer(8, cutoff=3.0)"
    assert repr(PaiNNLayer(8, 10, rbf_cutoff=4.0)) == "PaiNNLayer(8, n_rbf=10, rbf_cutoff=4.0)"
    model = PaiNN(1, 16, 1, n_layers=2, in_vector_features=1, predict_positions=True)
    assert repr(model) == (
        "PaiNN(1, 16, 1, n_layers=2, in_vector_features=1, out_vector_features=1, "
        "predict_positions=True)"
    )
    h, x, v = (t.float() for t in _data(c=1, f=1))
    copies = [t.clone() for t in (h, x, v)]
    model(h, x, v)
    for a, b in zip((h, x, v), copies, strict=True):
        assert torch.equal(a, b)
