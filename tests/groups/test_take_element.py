"""``take_element`` picks one element of a batch, for simple and product groups."""

from __future__ import annotations

import torch

from symnet.groups import Permutation, Rotation, Translation, take_element


def test_take_element_simple_and_product() -> None:
    S = (4, 3)
    R = Rotation(3).sample(5, S, rng=torch.Generator().manual_seed(0))
    assert torch.equal(take_element(R, 2), R[2:3])
    G = Translation(3) * Rotation(3) * Permutation()
    g = G.sample(5, S, rng=torch.Generator().manual_seed(1))
    one = take_element(g, 3, "cpu")
    assert isinstance(one, tuple) and len(one) == 3
    for part, whole in zip(one, g, strict=True):
        assert torch.equal(part, whole[3:4])
    x = torch.randn(1, 4, 3, dtype=torch.float64)
    assert torch.allclose(G.act(one, x, "point"), G.act(g, x.expand(5, 4, 3), "point")[3:4])
