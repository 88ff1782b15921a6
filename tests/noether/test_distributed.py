"""The Noether checks under torch.distributed: 2 gloo processes agree with one process.

One spawn of 2 CPU processes runs every scenario (a check with conserved and
broken symmetries and a discrete group, a check_hamiltonian, check_charges,
a discovery, a failure on one rank); each rank returns its results and the
test compares them with the same calls in this (single) process.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from symnet import _distributed
from symnet.groups import Generator, Permutation, Rotation, Translation
from symnet.noether import check, check_hamiltonian
from symnet.systems import TwoBodySpring
from tests._dist_helpers import run_ranks

B = 5  # odd: the ranks get 3 and 2 trajectories


def _states() -> tuple[torch.Tensor, torch.Tensor]:
    return TwoBodySpring(m1=1.0, m2=2.0, dim=2).sample_states(B, torch.Generator().manual_seed(3))


def _dilation() -> Generator:
    return Generator.linear("dilation", torch.eye(2, dtype=torch.float64))


def _blows_up(q: torch.Tensor, qdot: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Zero acceleration, NaN for the last trajectory of the batch (on rank 1 of 2)."""
    acc = torch.zeros_like(q)
    bad = (q[:, 0, 0] == _states()[0][B - 1, 0, 0])[:, None, None]
    return torch.where(bad, torch.nan, acc)


def scenarios() -> dict[str, Any]:
    """Every distributed scenario, as plain data (run on each rank, and in one process)."""
    sys = TwoBodySpring(m1=1.0, m2=2.0, dim=2)
    q, v = _states()
    p = v * sys.masses[:, None]
    out: dict[str, Any] = {"rank": _distributed.rank(), "world": _distributed.world_size()}
    out["primitives"] = _primitives()
    syms = [Translation(2), Rotation(2), _dilation(), Permutation()]
    rep = check(sys.lagrangian, syms, q, v, dt=0.02, steps=10, n_elements=2)
    out["check"] = (rep.to_dict(), rep.charges, rep.times)
    rep = check_hamiltonian(sys.hamiltonian, [Translation(2), _dilation()], q, p, dt=0.02, steps=10)
    out["hamiltonian"] = (rep.to_dict(), rep.charges, rep.times)
    try:
        check(sys.lagrangian, [Translation(2)], q, v, dt=0.02, steps=4, field=_blows_up)
        out["error"] = None
    except Exception as exc:  # every rank must raise
        out["error"] = (type(exc).__name__, str(exc))
    return out


def _primitives() -> dict[str, Any]:
    """The helpers of symnet._distributed, with this rank's number in the data."""
    r = _distributed.rank()
    rows = torch.arange(3 * (r + 1) * 2, dtype=torch.float64).reshape(-1, 2) + 100 * r
    empty = torch.zeros(0 if r == 0 else 2, 3, dtype=torch.int64) + r
    return {
        "shard": _distributed.shard(B),
        "rows": _distributed.gather_rows(rows),
        "empty": _distributed.gather_rows(empty),
        "sum": _distributed.all_reduce_sum(torch.tensor([1.0, r])),
        "max": _distributed.all_reduce_max(torch.tensor([-r, r])),
        "object": _distributed.broadcast_object({"from": r}),
        "active": _distributed.active(),
    }


def _close(a: Any, b: Any, where: str) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{k}]")
    elif isinstance(a, torch.Tensor):
        assert a.shape == b.shape, where
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, equal_nan=True, msg=where)
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-14), (
            where,
            a,
            b,
        )
    else:
        assert a == b, (where, a, b)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return run_ranks(scenarios, 2, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def one_process() -> dict[str, Any]:
    return scenarios()


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
def test_ranks_ran_in_a_group_of_two(two_ranks: list[dict[str, Any]]) -> None:
    assert [r["rank"] for r in two_ranks] == [0, 1]
    assert [r["world"] for r in two_ranks] == [2, 2]


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
@pytest.mark.parametrize("name", ["check", "hamiltonian"])
def test_every_rank_gets_the_single_process_report(
    two_ranks: list[dict[str, Any]], one_process: dict[str, Any], name: str
) -> None:
    ref = one_process[name]
    assert ref[0]["batch"] == B and ref[1][next(iter(ref[1]))].shape[1] == B
    for r in two_ranks:
        _close(r[name], ref, name)
    # the scenario has both outcomes: a check that always says "conserved" would fail here
    verdicts = ref[0]["verdicts"]
    assert verdicts["translation_x"] == "conserved" and verdicts["dilation"] == "broken"
    if name == "check":
        assert verdicts["rotation"] == "conserved" and verdicts["permutation"] == "broken"


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
def test_a_failure_on_one_rank_is_raised_on_every_rank(
    two_ranks: list[dict[str, Any]], one_process: dict[str, Any]
) -> None:
    kind, message = one_process["error"]
    assert kind == "NonFiniteStateError" and "4" in message
    failing, other = two_ranks[1]["error"], two_ranks[0]["error"]
    assert failing == (kind, message)  # the rank that failed: its own exception
    assert other[0] == kind and other[1] == f"[rank 1] {message}"


def test_distributed_must_be_a_bool() -> None:
    sys = TwoBodySpring(dim=2)
    q, v = _states()
    with pytest.raises(ValueError, match="distributed must be True or False"):
        check(sys.lagrangian, [Translation(2)], q, v, dt=0.1, steps=2, distributed=1)


@pytest.mark.slow  # spawns 2 processes: 4-10 s on 2 busy cores
def test_primitives_on_two_ranks(two_ranks: list[dict[str, Any]]) -> None:
    rank0, rank1 = (r["primitives"] for r in two_ranks)
    assert rank0["active"] and rank1["active"]
    assert (rank0["shard"], rank1["shard"]) == (slice(0, 3), slice(3, 5))
    # rows of unequal sizes (3 and 6), in rank order, the same on both ranks
    expected = torch.cat(
        [torch.arange(6.0).reshape(3, 2), torch.arange(12.0).reshape(6, 2) + 100]
    ).double()
    for p in (rank0, rank1):
        assert torch.equal(p["rows"], expected)
        assert torch.equal(p["empty"], torch.ones(2, 3, dtype=torch.int64))  # rank 0 had none
        assert torch.equal(p["sum"], torch.tensor([2.0, 1.0]))
        assert torch.equal(p["max"], torch.tensor([0, 1]))
        assert p["object"] == {"from": 0}


def test_primitives_without_a_group() -> None:
    assert not _distributed.active()
    assert (_distributed.rank(), _distributed.world_size()) == (0, 1)
    assert _distributed.shard(7) == slice(0, 7)
    t = torch.randn(4, 2)
    assert _distributed.gather_rows(t) is t
    assert _distributed.all_reduce_sum(t) is t and _distributed.all_reduce_max(t) is t
    assert _distributed.broadcast_object([1]) == [1]
    assert _distributed.run_everywhere(lambda: 3) == 3
    with pytest.raises(KeyError, match="x"):  # no group: raised as is
        _distributed.run_everywhere(lambda: {}["x"])


@pytest.mark.parametrize("n", [0, 1, 5, 8, 13])
@pytest.mark.parametrize("world", [1, 2, 3, 8])
def test_shard_is_contiguous_balanced_and_covers_everything(n: int, world: int) -> None:
    parts = [_distributed.shard(n, r, world) for r in range(world)]
    assert parts[0].start == 0 and parts[-1].stop == n
    assert all(a.stop == b.start for a, b in zip(parts[:-1], parts[1:], strict=True))
    sizes = [p.stop - p.start for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize(
    ("args", "match"), [((-1,), "n must be"), ((True,), "n must be"), ((3, 2, 2), "rank must")]
)
def test_shard_refuses_bad_arguments(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _distributed.shard(*args)
