"""The data of EMLP's synthetic tasks (examples/emlp_tasks.py) has the symmetries claimed.

The targets are checked with symnet's groups, reps and symmetry assertions (finite
elements and Lie algebra generators, float64): the O(5) target is
invariant under ``Rotation(5) * Reflection(5)``, the inertia tensor is
equivariant under O(3) (``V * V`` out), the scattering matrix element is
invariant under the Lorentz group (boosts included). Each check also fails
for a mutant, so that it tests something. The input normalisation keeps an
equivariant model equivariant; a per-coordinate scale does not.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from symnet.testing import assert_equivariant, assert_invariant

PATH = Path(__file__).resolve().parents[1] / "examples" / "emlp_tasks.py"


def _load():
    spec = importlib.util.spec_from_file_location("emlp_tasks_example", PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ex = _load()


def _setup(name: str, n: int = 6):
    task = ex.TASKS[name]
    group = task.group()
    rep_in, rep_out = task.reps(group)
    x, y = task.sample(n, seed=3)
    return task, group, rep_in, rep_out, x, y


def test_shapes_and_scales() -> None:
    for name, (d_in, d_out) in {"o5": (10, 1), "inertia": (20, 9), "lorentz": (16, 1)}.items():
        task, _, rep_in, rep_out, x, y = _setup(name)
        assert (rep_in.dim, rep_out.dim) == (d_in, d_out)
        assert x.shape == (6, d_in) and y.shape == (6, d_out) and x.dtype == torch.float64
        torch.testing.assert_close(task.sample(6, seed=3)[0], x)  # seeded
    masses = ex.TASKS["inertia"].sample(50, seed=0)[0][:, :5]
    assert (masses > 0).all()
    # the inertia tensor is symmetric with a non-negative trace
    y = ex.TASKS["inertia"].sample(50, seed=0)[1].reshape(-1, 3, 3)
    torch.testing.assert_close(y, y.transpose(1, 2))
    assert (torch.diagonal(y, dim1=1, dim2=2).sum(-1) > 0).all()


def test_o5_target_is_invariant_under_o5_and_mutant_is_not() -> None:
    task, group, rep_in, _, x, _ = _setup("o5")
    g = group.sample(8, (1, 5), rng=torch.Generator().manual_seed(0))
    dets = torch.linalg.det(ex.Vector(group).matrix(g))
    assert (dets < 0).any() and (dets > 0).any()  # rotations and reflections both sampled
    assert_invariant(task.target, group, x, rep_in, rng=0)

    def mutant(x):  # a fixed direction: not O(5)-invariant
        return task.target(x) + x[..., :1]

    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(mutant, group, x, rep_in, rng=0)


def test_inertia_target_is_o3_equivariant_and_mutants_are_not() -> None:
    task, group, rep_in, rep_out, x, _ = _setup("inertia")
    assert_equivariant(task.target, group, x, rep_in, rep_out, rng=0)
    with pytest.raises(AssertionError, match="not invariant"):  # a tensor, not an invariant
        assert_invariant(task.target, group, x, rep_in, rng=0)

    def mutant(x):  # adds an invariant to one entry of the tensor only
        y = task.target(x)
        return y + torch.cat([(x[..., 5:] ** 2).sum(-1, keepdim=True), 0 * y[..., 1:]], -1)

    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(mutant, group, x, rep_in, rep_out, rng=0)


def test_scattering_target_is_lorentz_invariant_and_euclidean_mutant_is_not() -> None:
    task, group, rep_in, _, x, _ = _setup("lorentz")
    assert "boost_x" in group.generator_names()
    assert_invariant(task.target, group, x, rep_in, rng=0)  # elements and generators (boosts)

    def mutant(x):  # the same formula with the Euclidean metric: rotation-invariant only
        return ex.scattering_target(x, metric=torch.eye(4, dtype=torch.float64))

    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(mutant, group, x, rep_in, rng=0)


@pytest.mark.parametrize("name", ["o5", "lorentz"])
def test_normalisation_keeps_a_model_invariant(name: str) -> None:
    from symnet.nn import EquivariantMLP

    task, group, rep_in, rep_out, x, y = _setup(name, n=64)
    net = EquivariantMLP(group, rep_in, rep_out, hidden=16, n_layers=1, seed=0).double()
    stats = tuple(s.double() for s in ex.normalisation(task, x, y))
    assert stats[0].unique().numel() == rep_in.dim // (5 if name == "o5" else 4)  # per vector
    model = ex.Normalised(net, stats).double()
    assert_invariant(model, group, x[:4], rep_in, rng=0)
    skewed = stats[0] * torch.linspace(0.5, 2.0, rep_in.dim, dtype=torch.float64)
    mutant = ex.Normalised(net, (skewed, *stats[1:])).double()
    with pytest.raises(AssertionError, match="not invariant"):
        assert_invariant(mutant, group, x[:4], rep_in, rng=0)


def test_tiny_training_run_lowers_the_error() -> None:
    """Both models train on the O(5) task (a few Adam steps) and the MLP's error falls."""
    cfg = ex.parse(["--tasks", "o5", "--ntrain", "64", "--ntest", "64", "--epochs", "1",
                    "--hidden", "16", "--n-layers", "1"])  # fmt: skip
    task = ex.TASKS["o5"]
    x, y = task.sample(256, seed=0)
    data = {"train": (x.float(), y.float()), "test": (x.float(), y.float())}
    model = ex.Normalised(ex.build("mlp", task, 32, 2, 0), ex.normalisation(task, x, y))
    before = ex.mse(model, x.float(), y.float())
    out = ex.train(model, data, epochs=30, batch=64, lr=3e-3)
    assert out["train_mse"] < 0.5 * before
    emlp = ex.run("o5", "emlp", cfg)
    assert emlp["test_mse"] == emlp["test_mse"] and emlp["parameters"] > 0
