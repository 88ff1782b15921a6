"""ParamSlice, SymmetryFamily and ParameterSymmetry: generators, charges, Lie derivatives."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.func import jvp

from symnet.learning import ParamSlice, SymmetryFamily, find_symmetries

from . import _models as M

SHAPES = {"fc1.weight": (4, 3), "fc1.bias": (4,), "fc2.weight": (2, 4), "c.weight": (6, 2, 3, 3)}


def rescale_family() -> SymmetryFamily:
    parts = [ParamSlice("fc1.weight", 0), ParamSlice("fc1.bias", 0)]
    return SymmetryFamily("rescale", parts + [ParamSlice("fc2.weight", 1, sign=-1)], SHAPES)


def test_slice_labels():
    assert ParamSlice("fc1.weight", 0).label(3, 2) == "fc1.weight[3,:]"
    assert ParamSlice("fc2.weight", 1).label(3, 2) == "fc2.weight[:,3]"
    assert ParamSlice("fc1.bias", 0).label(3, 1) == "fc1.bias[3]"
    assert ParamSlice("c.weight", 0).label(2, 4) == "c.weight[2,...]"
    assert ParamSlice("c.weight", 1).label(1, 4) == "c.weight[:,1,...]"
    assert ParamSlice("fc.weight", 1, block=4).label(2, 2) == "fc.weight[:,8:12]"
    assert ParamSlice("fc.weight", None).label(0, 2) == "fc.weight"
    assert ParamSlice("c.weight", 0, block=2).n_units((6, 2, 3, 3)) == 3


def test_family_names_and_members():
    fam = rescale_family()
    assert fam.name == "rescale fc1/fc2 (4 units)" and len(fam) == 4
    assert fam[3].name == "rescale: fc1.weight[3,:], fc1.bias[3] / fc2.weight[:,3]"
    assert fam.params == ["fc1.weight", "fc1.bias", "fc2.weight"]
    assert fam.charge_formula == "|theta_A1|^2 - |theta_A2|^2" and fam.quadratic
    assert "rescale fc1/fc2" in repr(fam) and "fc2.weight[:,3]" in repr(fam[3])


def test_family_validation():
    with pytest.raises(ValueError, match="unknown kind"):
        SymmetryFamily("rotation", [ParamSlice("fc1.bias")], SHAPES)
    with pytest.raises(ValueError, match="sign"):
        SymmetryFamily("rescale", [ParamSlice("fc1.bias")], SHAPES)
    with pytest.raises(ValueError, match="sign"):
        SymmetryFamily("scale", [ParamSlice("fc1.bias", sign=-1)], SHAPES)
    with pytest.raises(ValueError, match="unit counts"):
        SymmetryFamily("scale", [ParamSlice("fc1.bias"), ParamSlice("fc2.weight", 0)], SHAPES)
    with pytest.raises(ValueError, match="multiple"):
        ParamSlice("fc1.bias", 0, block=3).n_units((4,))
    with pytest.raises(ValueError, match="sign"):
        ParamSlice("fc1.bias", sign=2)
    with pytest.raises(ValueError, match="at least one"):
        SymmetryFamily("scale", [], SHAPES)


def test_xi_and_charges_match_the_formulas():
    g = M.gen()
    params = {n: torch.randn(s, generator=g, dtype=torch.float64) for n, s in SHAPES.items()}
    fam = rescale_family()
    xi = fam[1].xi(params)
    assert set(xi) == {"fc1.weight", "fc1.bias", "fc2.weight"}
    assert torch.equal(xi["fc1.weight"][1], params["fc1.weight"][1])
    assert torch.equal(xi["fc2.weight"][:, 1], -params["fc2.weight"][:, 1])
    assert float(xi["fc1.weight"][0].abs().sum() + xi["fc2.weight"][:, 2].abs().sum()) == 0.0
    w1, b1, w2 = params["fc1.weight"], params["fc1.bias"], params["fc2.weight"]
    expected = (w1**2).sum(1) + b1**2 - (w2**2).sum(0)
    assert torch.allclose(fam.charges(params), expected)
    assert torch.allclose(fam[2].charge(params), expected[2])
    assert torch.allclose(fam.magnitudes(params), (w1**2).sum(1) + b1**2 + (w2**2).sum(0))
    trans = SymmetryFamily("translation", [ParamSlice("fc2.weight", 1)], SHAPES)
    assert torch.allclose(trans.charges(params), w2.sum(0))
    assert torch.equal(trans[0].xi(params)["fc2.weight"][:, 0], torch.ones(2, dtype=torch.float64))
    assert torch.allclose(trans.xi_norms(params), torch.full((4,), math.sqrt(2.0)).double())
    # a scale generator is tangent to the orbit theta -> e^eps theta on its slice
    scale = SymmetryFamily("scale", [ParamSlice("c.weight", 0, block=2)], SHAPES)
    xi = scale[1].xi(params)["c.weight"]
    assert torch.equal(xi[2:4], params["c.weight"][2:4]) and float(xi[:2].abs().sum()) == 0.0


def test_lie_derivative_and_generator_of_found_symmetries():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    batch = M.classification()
    found = find_symmetries(net, nn.CrossEntropyLoss(), batch)
    sym = found[0]
    assert sym.name == "rescale: 0.weight[0,:], 0.bias[0] / 2.weight[:,0]"
    assert sym.lie_derivative(net, nn.CrossEntropyLoss(), batch) < 1e-14
    # a vector field that is not a symmetry: scale the first layer's unit alone
    fake = SymmetryFamily("scale", [ParamSlice("0.weight", 0)], {"0.weight": (4, 5)})
    assert fake[0].lie_derivative(net, nn.CrossEntropyLoss(), batch) > 1e-3
    # as a Generator on flat parameter vectors: the same directional derivative
    gen = sym.as_generator(net)
    flat = torch.nn.utils.parameters_to_vector(net.parameters()).detach().double()[None]
    v = gen(flat)
    assert v.shape == flat.shape
    assert gen.name == sym.name
    xi = sym.xi(dict(net.named_parameters()))
    start = 0
    for n, p in net.named_parameters():
        part = v[0, start : start + p.numel()].reshape(p.shape)
        expected = xi[n].double() if n in xi else torch.zeros_like(part)
        assert torch.allclose(part, expected)
        start += p.numel()

    net64 = copy.deepcopy(net).double()

    def loss(q):
        params, start = {}, 0
        for n, p in net64.named_parameters():
            params[n] = q[0, start : start + p.numel()].reshape(p.shape)
            start += p.numel()
        out = torch.func.functional_call(net64, params, (batch[0].double(),))
        return nn.functional.cross_entropy(out, batch[1])

    _, d = jvp(loss, (flat,), (v,))
    assert abs(float(d)) < 1e-14
    trans = found.family("translation 2.weight columns -> softmax (4 units)")[1].as_generator(net)
    ones = trans(torch.zeros(2, flat.shape[1], dtype=torch.float64))
    assert ones.sum(1).tolist() == [3.0, 3.0]  # the column 2.weight[:,1] has 3 rows
    other = nn.Sequential(nn.Linear(5, 4))
    with pytest.raises(ValueError, match="lacks"):
        sym.as_generator(other)
    with pytest.raises(ValueError, match="lacks"):
        sym.lie_derivative(other, nn.MSELoss(), M.regression(out=4))
