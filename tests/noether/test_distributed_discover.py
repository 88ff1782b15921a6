"""Discovery under torch.distributed: 2 gloo ranks return the single-process result.

One spawn of 2 CPU processes runs every scenario (``discover`` with the
affine family and with a custom candidate, ``discover`` with
``distributed=False``, ``discover_hamiltonian``, an error on one rank); each
rank returns its results as plain data and the tests compare them with the
same calls in this (single) process. The batches are odd, so the ranks get
unequal shares. Ranks without any state (more ranks than states) are
emulated in one process.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

import symnet.noether.discovery.hamiltonian as ham_module
import symnet.noether.discovery.lagrangian as lag_module
from symnet import _distributed
from symnet.groups import Generator
from symnet.noether import ChargeDiscovery, SymmetryDiscovery, discover, discover_hamiltonian
from symnet.systems import IsotropicOscillator, TwoBodySpring
from tests._dist_helpers import run_ranks

B_L, B_H = 45, 101  # odd: the ranks get 23 and 22, 51 and 50 states
SPRING = TwoBodySpring(m1=1.0, m2=2.0, k=3.0, l0=1.0)
OSCILLATOR = IsotropicOscillator(m=2.0, k=2.0)


def _spring_states(n: int = B_L) -> tuple[torch.Tensor, torch.Tensor]:
    return SPRING.sample_states(n, torch.Generator().manual_seed(0))


def _oscillator_states(n: int = B_H) -> tuple[torch.Tensor, torch.Tensor]:
    q, v = OSCILLATOR.sample_states(n, torch.Generator().manual_seed(0))
    return q, OSCILLATOR.momentum(q, v)


def _spin_z(q: torch.Tensor) -> torch.Tensor:
    """A rotation about z of every particle: a custom candidate (repeats an affine one)."""
    return torch.stack([-q[..., 1], q[..., 0], torch.zeros_like(q[..., 2])], dim=-1)


def _nan_at_last_state(q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
    """The spring's L, NaN at the last state of the batch (on rank 1 of 2)."""
    last = _spring_states()[0][B_L - 1, 0, 0]
    return torch.where(q[:, 0, 0] == last, torch.nan, SPRING.lagrangian(q, qdot))


def summary(found: SymmetryDiscovery | ChargeDiscovery) -> dict[str, Any]:
    """Everything a discovery reports, as plain data (singular values as tensors)."""
    out = found.to_dict()
    out["singular_values"] = found.singular_values.clone()
    out["relative_singular_values"] = found.relative_singular_values.clone()
    if isinstance(found, SymmetryDiscovery):
        out["coefficient_tensors"] = {k: v.clone() for k, v in found.coefficients.items()}
    return out


def scenarios() -> dict[str, Any]:
    """Every distributed discovery scenario (run on each rank, and in one process)."""
    q, v = _spring_states()
    out: dict[str, Any] = {"rank": _distributed.rank(), "world": _distributed.world_size()}
    out["lagrangian"] = summary(discover(SPRING.lagrangian, q, v))
    custom = ["affine", Generator("spin_z", _spin_z)]
    out["custom"] = summary(discover(SPRING.lagrangian, q, v, custom, time=False))
    out["whole_batch"] = summary(discover(SPRING.lagrangian, q, v, distributed=False))
    qh, ph = _oscillator_states()
    out["hamiltonian"] = summary(discover_hamiltonian(OSCILLATOR.hamiltonian, qh, ph))
    try:
        discover(_nan_at_last_state, q, v)
        out["error"] = None
    except Exception as exc:  # every rank must raise
        out["error"] = (type(exc).__name__, str(exc))
    return out


def _close(a: Any, b: Any, where: str, scale: float = 1.0) -> None:
    """Equal structure; numbers equal to 1e-10 relative (round-off far below ``scale``)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}", scale)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{k}]", scale)
    elif isinstance(a, torch.Tensor):
        assert a.shape == b.shape and a.dtype == b.dtype == torch.float64, where
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13 * scale, msg=where)
    elif isinstance(a, float) and isinstance(b, float):
        same = (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-10, abs=1e-13)
        assert same, (where, a, b)
    else:
        assert a == b, (where, a, b)


def _same_discovery(got: dict[str, Any], ref: dict[str, Any], where: str) -> None:
    """``got`` is ``ref``: names, verdicts, spectrum and figures.

    Singular values are compared to 1e-10 relative; those at round-off
    (exact symmetries, 1e-16 of the largest) to 1e-13 of the largest, and
    the per-finding relative singular values (round-off for exact findings)
    and gaps (ratios of round-off values) only as exact / not exact.
    """
    top = float(ref["singular_values"][0])
    assert [r["name"] for r in got["rows"]] == [r["name"] for r in ref["rows"]], where
    assert [r["exact"] for r in got["rows"]] == [r["exact"] for r in ref["rows"]], where
    assert got["algebra"] == ref["algebra"], where
    loud = {"relative", "gap", "threshold", "rows", "singular_values", "algebra"}
    loud |= {"relative_singular_values"}
    _close(
        {k: v for k, v in got.items() if k not in loud},
        {k: ref[k] for k in got if k not in loud},
        where,
        top,
    )
    _close(got["singular_values"], ref["singular_values"], where + ".singular_values", top)
    _close(
        got["relative_singular_values"], ref["relative_singular_values"], where + ".relative", 1.0
    )
    assert (got["gap"] is None) == (ref["gap"] is None), where
    if ref["gap"] is not None and ref["gap"] < 1e6:  # a gap between non-round-off values
        assert got["gap"] == pytest.approx(ref["gap"], rel=1e-8), where
    else:
        assert ref["gap"] is None or got["gap"] > 1e6, where
    for g, r in zip(got["rows"], ref["rows"], strict=True):
        rest = {k: v for k, v in r.items() if k != "relative"}
        _close({k: g[k] for k in rest}, rest, f"{where}.{r['name']}", 1.0)
        if r["exact"]:
            assert g["relative"] <= 1e-10, where
        else:
            assert g["relative"] == pytest.approx(r["relative"], rel=1e-8), where


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return run_ranks(scenarios, 2, tmp_path_factory.mktemp("dist_discover"))


@pytest.fixture(scope="module")
def one_process() -> dict[str, Any]:
    return scenarios()


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
def test_ranks_ran_in_a_group_of_two(two_ranks: list[dict[str, Any]]) -> None:
    assert [r["rank"] for r in two_ranks] == [0, 1]
    assert [r["world"] for r in two_ranks] == [2, 2]


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
@pytest.mark.parametrize("name", ["lagrangian", "custom", "whole_batch", "hamiltonian"])
def test_every_rank_gets_the_single_process_discovery(
    two_ranks: list[dict[str, Any]], one_process: dict[str, Any], name: str
) -> None:
    ref = one_process[name]
    for r in two_ranks:
        _same_discovery(r[name], ref, f"rank {r['rank']}: {name}")
    # the reference finds what the systems have, and the states were not shared out twice
    assert ref["n_states"] == (B_H if name == "hamiltonian" else B_L)
    if name in ("lagrangian", "whole_batch"):
        assert [r["name"] for r in ref["rows"]] == [
            *("translation_x", "translation_y", "translation_z"),
            *("rotation_x", "rotation_y", "rotation_z", "time"),
        ]
    elif name == "custom":  # the custom field repeats rotation_z and takes its place
        assert [r["name"] for r in ref["rows"]][-3:] == ["rotation_x", "rotation_y", "spin_z"]
    else:
        assert [r["name"] for r in ref["rows"]] == ["L", "fradkin_xx", "fradkin_xy", "fradkin_yy"]


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
def test_an_error_on_one_rank_is_raised_on_every_rank(
    two_ranks: list[dict[str, Any]], one_process: dict[str, Any]
) -> None:
    kind, message = one_process["error"]
    assert kind == "ValueError" and f"first at index ({B_L - 1},)" in message
    failing, other = two_ranks[1]["error"], two_ranks[0]["error"]
    assert failing == (kind, message)  # its own exception, the batch index of the whole batch
    assert other == (kind, f"[rank 1] {message}")


@pytest.mark.parametrize("bad", [1, 0, "yes", None, 1.0])
def test_distributed_must_be_a_bool(bad: Any) -> None:
    q, v = _spring_states(20)
    with pytest.raises(ValueError, match="distributed must be True or False"):
        discover(SPRING.lagrangian, q, v, distributed=bad)
    qh, ph = _oscillator_states(20)
    with pytest.raises(ValueError, match="distributed must be True or False"):
        discover_hamiltonian(OSCILLATOR.hamiltonian, qh, ph, distributed=bad)


def test_the_checks_of_a_discovery_take_distributed() -> None:
    """``check`` of both results passes ``distributed`` on to the checkers (validated there)."""
    q, v = _spring_states()
    found = discover(SPRING.lagrangian, q, v)
    qh, ph = _oscillator_states()
    charges = discover_hamiltonian(OSCILLATOR.hamiltonian, qh, ph)
    for result, x, y in ((found, q[:2], v[:2]), (charges, qh[:2], ph[:2])):
        with pytest.raises(ValueError, match="distributed must be True or False"):
            result.check(x, y, dt=0.01, steps=2, distributed="no")
        report = result.check(x, y, dt=0.01, steps=2, distributed=False)
        assert report.all_conserved, str(report)


def test_distributed_false_without_a_group_is_the_same_discovery() -> None:
    assert not _distributed.active()
    q, v = _spring_states()
    a = summary(discover(SPRING.lagrangian, q, v))
    b = summary(discover(SPRING.lagrangian, q, v, distributed=False))
    _same_discovery(b, a, "distributed=False")


def _emulated(world: int):  # noqa: ANN202 - a stand-in for sharded_rows
    """``sharded_rows`` of ``world`` ranks in one process: every part's rows, concatenated."""

    def sharded_rows(work, n, distributed):  # noqa: ANN001, ANN202
        assert distributed is True
        parts = [work(_distributed.shard(n, r, world)) for r in range(world)]
        sizes = [[x.shape[0] for x in part] for part in parts]
        assert all(len(set(s)) == 1 for s in sizes)  # every tensor of a part: one row per state
        return tuple(torch.cat(xs) for xs in zip(*parts, strict=True))

    return sharded_rows


@pytest.mark.parametrize("world", [2, 3, 12])
def test_shares_of_any_size_even_empty_give_the_same_discovery(
    world: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Odd shares, and ranks without any state (12 ranks for 10 states), change nothing."""
    spring, osc = TwoBodySpring(dim=2), IsotropicOscillator()
    q, v = spring.sample_states(10, torch.Generator().manual_seed(1))  # m = 7 coefficients
    qh, vh = osc.sample_states(17, torch.Generator().manual_seed(1))  # K = 16 functions
    ph = osc.momentum(qh, vh)
    ref_l = summary(discover(spring.lagrangian, q, v))
    ref_h = summary(discover_hamiltonian(osc.hamiltonian, qh, ph))
    monkeypatch.setattr(lag_module, "sharded_rows", _emulated(world))
    monkeypatch.setattr(ham_module, "sharded_rows", _emulated(world))
    _same_discovery(summary(discover(spring.lagrangian, q, v)), ref_l, f"{world} ranks")
    got_h = summary(discover_hamiltonian(osc.hamiltonian, qh, ph))
    _same_discovery(got_h, ref_h, f"{world} ranks")
    assert [r["name"] for r in ref_l["rows"]] == [
        "translation_x",
        "translation_y",
        "rotation",
        "time",
    ]
    assert ref_h["rows"]  # the oscillator's charges were found


def test_discovery_runs_on_the_device_of_the_states(device: torch.device) -> None:
    """Every device present: the result lives on the states' device and equals the CPU one."""
    q, v = _spring_states()
    ref = discover(SPRING.lagrangian, q, v, t=0.5)
    out = discover(SPRING.lagrangian, q.to(device), v.to(device), t=0.5)
    assert out.names == ref.names
    assert out.singular_values.device.type == device.type
    assert all(c.device.type == device.type for c in out.coefficients.values())
    assert out.algebra.structure_constants.device.type == device.type
    top = float(ref.singular_values[0])
    torch.testing.assert_close(
        out.singular_values.cpu(), ref.singular_values, atol=1e-12 * top, rtol=1e-9
    )
    qh, ph = _oscillator_states()
    ref_h = discover_hamiltonian(OSCILLATOR.hamiltonian, qh, ph, t=0.0)
    out_h = discover_hamiltonian(OSCILLATOR.hamiltonian, qh.to(device), ph.to(device), t=0.0)
    assert out_h.names == ref_h.names and out_h.algebra.closes
    assert out_h.algebra.structure_constants.device.type == device.type
    top = float(ref_h.singular_values[0])
    torch.testing.assert_close(
        out_h.singular_values.cpu(), ref_h.singular_values, atol=1e-12 * top, rtol=1e-9
    )
    for a, b in zip(out_h, ref_h, strict=True):  # found charges evaluate on device tensors
        torch.testing.assert_close(
            a(qh.to(device), ph.to(device)).cpu(), b(qh, ph), rtol=1e-9, atol=1e-12
        )


def test_spectrum_takes_a_thin_svd(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full SVD of the stacked (states x m) matrix would hold a states x states U."""
    import symnet.noether.discovery.linalg as linalg

    calls: list[bool] = []
    svd = torch.linalg.svd

    def recording(A: torch.Tensor, full_matrices: bool = True) -> Any:
        calls.append(full_matrices)
        return svd(A, full_matrices=full_matrices)

    monkeypatch.setattr(linalg.torch.linalg, "svd", recording)
    M = torch.randn(50, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    M[:, 3] = M[:, 0] - M[:, 1]
    spec = linalg.spectrum(M, threshold=None, max_relative=0.05, min_gap=10.0)
    assert calls == [False]
    assert spec.n_null == 1 and spec.null_basis.shape == (1, 4)
    direction = torch.tensor([1.0, -1.0, 0.0, -1.0], dtype=torch.float64) / math.sqrt(3)
    assert float((spec.null_basis[0] @ direction).abs()) == pytest.approx(1.0, abs=1e-12)
