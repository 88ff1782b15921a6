"""The charged N-body simulator of EGNN's experiment (symnet.systems.charged)."""

from __future__ import annotations

import pytest
import torch

from symnet.systems import ChargedNBody, charged_nbody_dataset, simulate_charged_particles
from symnet.systems.charged import coulomb_forces


def test_shapes_charges_and_frame_count() -> None:
    x, v, q = simulate_charged_particles(6, 4, n_steps=300, sample_every=50, rng=0)
    # the initial state is not recorded: n_steps // sample_every - 1 frames
    assert x.shape == v.shape == (6, 5, 4, 3)
    assert q.shape == (6, 4)
    assert set(q.unique().tolist()) <= {-1.0, 1.0}
    assert x.dtype == torch.float64


def test_determinism_by_seed() -> None:
    a = simulate_charged_particles(3, n_steps=200, sample_every=50, rng=7)
    b = simulate_charged_particles(3, n_steps=200, sample_every=50, rng=7)
    c = simulate_charged_particles(3, n_steps=200, sample_every=50, rng=8)
    assert all(torch.equal(s, t) for s, t in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])


def test_frame_spacing() -> None:
    # frame k holds the state after (k + 1) * sample_every steps
    fine = simulate_charged_particles(4, n_steps=200, sample_every=20, rng=3)[0]
    coarse = simulate_charged_particles(4, n_steps=200, sample_every=40, rng=3)[0]
    torch.testing.assert_close(coarse, fine[:, 1::2][:, : coarse.shape[1]], rtol=0, atol=0)


def test_initial_speed_and_spread() -> None:
    x, v, _ = simulate_charged_particles(400, n_steps=4, sample_every=2, dt=1e-6, rng=0)
    # after 2 steps of dt = 1e-6 the state is the initial one to ~1e-6
    torch.testing.assert_close(
        v[:, 0].norm(dim=-1), torch.full((400, 5), 0.5, dtype=v.dtype), atol=1e-3, rtol=0
    )
    assert abs(float(x[:, 0].std()) - 1.0) < 0.05


def test_momentum_conserved_without_clipping_and_broken_by_it() -> None:
    kw = {"n_steps": 400, "sample_every": 20, "loc_std": 0.05, "rng": 1}
    # close particles: forces far above the clip 0.1 / dt = 100
    _, v, _ = simulate_charged_particles(8, clip=False, **kw)
    p = v.sum(-2)  # total momentum (unit masses), per frame
    torch.testing.assert_close(p, p[:, :1].expand_as(p), atol=1e-10, rtol=0)
    _, vc, _ = simulate_charged_particles(8, clip=True, **kw)
    pc = vc.sum(-2)
    assert float((pc - pc[:, :1]).abs().max()) > 1e-3


def test_coulomb_forces_pairwise_and_clipped() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    q = torch.tensor([[1.0, -1, 1, 1], [-1, -1, 1, -1]], dtype=torch.float64)
    ref = torch.zeros_like(x)
    for b in range(2):
        for i in range(4):
            for j in range(4):
                if i != j:
                    r = x[b, i] - x[b, j]
                    ref[b, i] += q[b, i] * q[b, j] * r / r.norm() ** 3
    torch.testing.assert_close(coulomb_forces(x, q), ref)
    assert float(coulomb_forces(x, q, max_force=0.1).abs().max()) <= 0.1


def test_dataset_splits_frames_and_centroid_law() -> None:
    data = charged_nbody_dataset(5, 3, 2, frame_in=2, frame_out=4, sample_every=10, rng=4)
    assert set(data) == {"train", "valid", "test"}
    assert isinstance(data["train"], ChargedNBody)
    assert data["train"].x0.shape == data["train"].target.shape == (5, 5, 3)
    assert data["valid"].charges.shape == (3, 5) and data["test"].v0.shape == (2, 5, 3)
    assert data["train"].x0.dtype == torch.float32
    x, v, q = simulate_charged_particles(10, n_steps=60, sample_every=10, rng=4)
    torch.testing.assert_close(data["valid"].x0, x[5:8, 2].float())
    torch.testing.assert_close(data["test"].target, x[8:, 4].float())
    # unclipped forces are internal: the centroid moves uniformly, by T mean(v0), T = 20 dt
    d = charged_nbody_dataset(
        4, 1, 1, frame_in=1, frame_out=3, sample_every=10, clip=False, dtype=torch.float64
    )["train"]
    law = d.x0.mean(-2) + 20 * 1e-3 * d.v0.mean(-2)
    torch.testing.assert_close(d.target.mean(-2), law, atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_steps": 250, "sample_every": 100}, "multiple of sample_every"),
        ({"n_steps": 100, "sample_every": 100}, "n_steps must be an int >= 200"),
        ({"dt": -1.0}, "dt must be a positive"),
        ({"n_particles": 1}, "n_particles must be an int >= 2"),
    ],
)
def test_simulator_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        simulate_charged_particles(2, **kwargs)


def test_dataset_errors() -> None:
    with pytest.raises(ValueError, match="frame_in must be < frame_out"):
        charged_nbody_dataset(2, 2, 2, frame_in=4, frame_out=4)
    with pytest.raises(TypeError, match="n_steps is set by frame_out"):
        charged_nbody_dataset(2, 2, 2, n_steps=100)
