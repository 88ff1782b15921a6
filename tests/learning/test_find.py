"""find_symmetries: every expected symmetry found and confirmed, nothing spurious.

Ground truth: REFERENCES.md section 4, rows 9-11 (softmax cross-entropy,
Linear -> BatchNorm, two-layer ReLU net), plus a CNN with BatchNorm2d and a
net with LayerNorm.
"""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from symnet.learning import find_symmetries

from . import _models as M


def names(found) -> set[str]:
    return {s.name for s in found}


def rejected(found) -> set[str]:
    return {s.name for s in found.rejected}


# ---------------------------------------------------------------- row 9: softmax
def test_softmax_translation_per_column_and_bias():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 3))
    found = find_symmetries(net, nn.CrossEntropyLoss(), M.classification())
    assert names(found) == M.softmax_set("0", 5)
    assert not found.rejected
    assert all(s.residual < 1e-14 and s.exact and s.kind == "translation" for s in found)


def test_functional_cross_entropy_is_recognised():
    torch.manual_seed(0)
    found = find_symmetries(nn.Sequential(nn.Linear(5, 3)), F.cross_entropy, M.classification())
    assert names(found) == M.softmax_set("0", 5)


def test_z_loss_breaks_the_translation():
    torch.manual_seed(0)
    found = find_symmetries(nn.Sequential(nn.Linear(5, 3)), M.z_loss, M.classification())
    assert len(found) == 0
    assert rejected(found) == M.softmax_set("0", 5)
    assert all(s.residual > 1e-3 and "Lie derivative" in s.note for s in found.rejected)


def test_regression_loss_has_no_softmax_candidates():
    torch.manual_seed(0)
    found = find_symmetries(nn.Sequential(nn.Linear(5, 3)), nn.MSELoss(), M.regression())
    assert len(found) == 0 and not found.rejected and not found.families


def test_softmax_flag_overrides_detection():
    torch.manual_seed(0)
    found = find_symmetries(
        nn.Sequential(nn.Linear(5, 3)), nn.CrossEntropyLoss(), M.classification(), softmax=False
    )
    assert not found.families


# ---------------------------------------------------------------- row 10: BatchNorm
def test_batchnorm_train_mode_scale_per_neuron():
    found = find_symmetries(M.bn_mlp(), nn.CrossEntropyLoss(), M.classification())
    assert names(found) == M.BN_MLP
    assert not found.rejected
    scale = [s for s in found if s.kind == "scale"]
    assert len(scale) == 8
    # BatchNorm's eps = 1e-5 breaks the scale symmetry slightly: confirmed as approximate
    assert all(not s.exact and "eps" in s.note and 1e-12 < s.residual < 1e-3 for s in scale)
    assert all(s.exact for s in found if s.kind != "scale")


def test_batchnorm_tiny_eps_scale_is_exact():
    found = find_symmetries(M.bn_mlp(eps=1e-300), nn.CrossEntropyLoss(), M.classification())
    assert names(found) == M.BN_MLP
    assert all(s.exact and s.residual < 1e-13 for s in found)


def test_batchnorm_eval_mode_scale_not_confirmed():
    model = M.bn_mlp().eval()
    found = find_symmetries(model, nn.CrossEntropyLoss(), M.classification())
    expected_rejected = M.bn_set("0", 8)
    assert rejected(found) == expected_rejected
    assert names(found) == M.BN_MLP - expected_rejected
    assert all(s.residual > 1e-3 for s in found.rejected)
    assert not model.training  # the user's model keeps its mode


# ---------------------------------------------------------------- row 11: ReLU
def test_two_layer_relu_rescale_per_hidden_unit():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    found = find_symmetries(net, nn.MSELoss(), M.regression())
    assert names(found) == M.rescale_set("0", "2", 7)
    assert not found.rejected
    sym = found[3]
    assert sym.name == "rescale: 0.weight[3,:], 0.bias[3] / 2.weight[:,3]"
    assert found.families[0].name == "rescale 0/2 (7 units)"


@pytest.mark.parametrize("act", [nn.Tanh, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Softplus, nn.ELU])
def test_non_homogeneous_activations_give_no_rescale(act):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), act(), nn.Linear(7, 3))
    found = find_symmetries(net, nn.MSELoss(), M.regression())
    assert len(found) == 0 and not found.rejected
    assert "no candidates" in str(found)


def test_homogeneous_activations_and_identity_give_rescale():
    torch.manual_seed(0)
    for act in (nn.LeakyReLU(0.2), nn.Identity(), nn.PReLU()):
        net = nn.Sequential(nn.Linear(5, 4), act, nn.Linear(4, 3))
        found = find_symmetries(net, nn.MSELoss(), M.regression())
        assert names(found) == M.rescale_set("0", "2", 4), act
    net = nn.Sequential(nn.Linear(5, 4), nn.Linear(4, 3))  # a deep linear net
    assert names(find_symmetries(net, nn.MSELoss(), M.regression())) == M.rescale_set("0", "1", 4)


# ---------------------------------------------------------------- CNN, LayerNorm, custom
def test_small_cnn_batchnorm2d_per_channel():
    batch = (torch.randn(16, 1, 6, 6, generator=M.gen(2)), M.classification()[1])
    found = find_symmetries(M.small_cnn(), nn.CrossEntropyLoss(), batch)
    assert names(found) == M.SMALL_CNN
    assert not found.rejected
    assert {s.kind for s in found} == {"scale", "translation", "rescale"}


def test_layernorm_whole_layer_scale():
    found = find_symmetries(M.layernorm_net(), nn.MSELoss(), M.regression())
    assert names(found) == M.LAYERNORM_NET
    assert not found.rejected
    whole = [s for s in found if s.kind == "scale"]
    assert len(whole) == 1 and whole[0].family.n_units == 1


def test_custom_module_with_functional_relu_and_nesting():
    found = find_symmetries(M.Custom(), nn.MSELoss(), M.regression())
    assert names(found) == M.CUSTOM
    assert found.traced_with == "torch.fx"


def test_untraceable_model_falls_back_to_forward_hooks():
    found = find_symmetries(M.Untraceable(), nn.MSELoss(), M.regression())
    assert found.traced_with == "forward hooks"
    assert names(found) == M.UNTRACEABLE


def test_branches_and_shared_weights_give_no_candidates():
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b, self.o = nn.Linear(5, 5), nn.Linear(5, 5), nn.Linear(5, 3)

        def forward(self, x):
            h = F.relu(self.a(x))
            return self.o(h + self.b(h))

    class Shared(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.o = nn.Linear(5, 5), nn.Linear(5, 3)

        def forward(self, x):
            return self.o(F.relu(self.a(F.relu(self.a(x)))))

    torch.manual_seed(0)
    for model in (Residual(), Shared()):
        found = find_symmetries(model, nn.MSELoss(), M.regression())
        assert not found.families, model


def test_flatten_by_view_and_pooling_map_channels_to_blocks():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c, self.fc = nn.Conv2d(2, 3, 3, padding=1), nn.Linear(3 * 4 * 4, 2)

        def forward(self, x):
            h = F.max_pool2d(F.relu(self.c(x)), 2)
            return self.fc(h.view(h.size(0), -1))

    torch.manual_seed(0)
    batch = (torch.randn(8, 2, 8, 8, generator=M.gen()), torch.randn(8, 2, generator=M.gen(1)))
    found = find_symmetries(Net(), nn.MSELoss(), batch)
    expected = {
        f"rescale: c.weight[{j},...], c.bias[{j}] / fc.weight[:,{16 * j}:{16 * j + 16}]"
        for j in range(3)
    }
    assert names(found) == expected


def test_groupnorm_instancenorm_and_conv_transpose():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), nn.ReLU(), nn.ConvTranspose2d(4, 3, 2),
        nn.InstanceNorm2d(3, affine=True), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(3, 2),
    )  # fmt: skip
    batch = (torch.randn(8, 2, 6, 6, generator=M.gen()), torch.randn(8, 2, generator=M.gen(1)))
    found = find_symmetries(net, nn.MSELoss(), batch)
    assert not found.rejected
    fams = {f.name for f in found.families}
    assert fams == {
        "scale 0 -> 1 (GroupNorm, 2 units)",
        "translation 0.bias -> 1 (GroupNorm, 2 units)",
        "rescale 1/3 (4 units)",
        "scale 3 -> 4 (InstanceNorm2d, 3 units)",
        "translation 3.bias -> 4 (InstanceNorm2d, 3 units)",
        "rescale 4/8 (3 units)",
    }
    assert "scale: 0.weight[0:2,...], 0.bias[0:2]" in names(found)  # one group = 2 channels
    assert "rescale: 1.weight[2], 1.bias[2] / 3.weight[2,...]" in names(found)  # ConvT: axis 0


@pytest.mark.slow  # the first jvp through dropout imports torch._dynamo (seconds)
def test_dropout_is_evaluated_with_fixed_randomness():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 6), nn.Dropout(0.3), nn.ReLU(), nn.Linear(6, 3))
    found = find_symmetries(net, nn.MSELoss(), M.regression())
    assert names(found) == M.rescale_set("0", "3", 6)


# ---------------------------------------------------------------- side effects, output
def test_user_model_and_rng_are_untouched():
    model = M.bn_mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    find_symmetries(model, nn.CrossEntropyLoss(), M.classification())
    assert torch.equal(rng, torch.get_rng_state())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats included
    assert next(model.parameters()).dtype == torch.float32 and model.training


def test_table_json_and_sequence_protocol():
    found = find_symmetries(M.bn_mlp().eval(), nn.CrossEntropyLoss(), M.classification())
    text = str(found)
    assert "rescale 1/3 (8 units)" in text and "rejected" in text and "confirmed" in text
    data = json.loads(found.to_json())
    assert data["schema"] == "symnet.learning.symmetries/1"
    assert sum(len(f["members"]) for f in data["families"]) == len(found) + len(found.rejected)
    assert found[0] is list(found)[0] and len(found[:2]) == 2
    assert found.family("rescale 1/3 (8 units)").kind == "rescale"
    with pytest.raises(KeyError, match="families"):
        found.family("nope")
    assert found.names == [s.name for s in found]
    assert "confirmed" in repr(found)


# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    x, y = M.regression()
    with pytest.raises(ValueError, match="no parameters"):
        find_symmetries(nn.ReLU(), nn.MSELoss(), (x, y))
    with pytest.raises(TypeError, match="nn.Module"):
        find_symmetries(lambda v: v, nn.MSELoss(), (x, y))
    net = nn.Sequential(nn.Linear(5, 3))
    with pytest.raises(ValueError, match="scalar"):
        find_symmetries(net, nn.MSELoss(reduction="none"), (x, y))
    with pytest.raises(TypeError, match="scalar"):
        find_symmetries(net, lambda o, t: 1.0, (x, y))
    with pytest.raises(TypeError, match="pair"):
        find_symmetries(net, nn.MSELoss(), x)
    with pytest.raises(TypeError, match="callable"):
        find_symmetries(net, "mse", (x, y))
    with pytest.raises(ValueError, match="tol"):
        find_symmetries(net, nn.MSELoss(), (x, y), tol=0.0)
