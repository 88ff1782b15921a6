"""Issue 12 in symnet.noether: one pipeline, a layout without hidden modules, one vocabulary.

- ``check``, ``check_hamiltonian`` and ``check_charges`` share the stages of
  :mod:`symnet.noether.pipeline` (the same drift, Simpson rule and NaN orders);
- no submodule of ``symnet.noether`` is hidden by a function of the same name;
- the renamed names (``rng=``, ``thresholds=``, ``VerdictThresholds``,
  ``assert_conserved(L, symmetries, ...)``) work, and the old ones still do,
  with a DeprecationWarning naming the new one;
- the discovery results are reports (``passed``, ``rows``, ``to_json``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import pkgutil
import re
from pathlib import Path

import pytest
import torch

import symnet.noether as nt
from symnet import systems as S
from symnet.groups import Rotation, TimeShift, Translation
from symnet.testing import assert_conserved

SPRING = S.TwoBodySpring()
KEPLER = S.Kepler()


@pytest.fixture(scope="module")
def states():
    return SPRING.sample_states(3, torch.Generator().manual_seed(0))


def _check(**kwargs):
    q, v = SPRING.sample_states(3, torch.Generator().manual_seed(0))
    kw = {"dt": 0.02, "steps": 6, "field": SPRING.acceleration, **kwargs}
    return nt.check(SPRING.lagrangian, ["translation", "rotation"], q, v, **kw)


@pytest.fixture(scope="module")
def kepler_charges():
    q, v = KEPLER.sample_states(96, torch.Generator().manual_seed(5))
    p = KEPLER.momentum(q, v)
    return nt.discover_hamiltonian(KEPLER.hamiltonian, q, p), q, p


# ---------------------------------------------------------------- one pipeline


def test_the_three_checks_run_the_same_reductions(monkeypatch, kepler_charges):
    import symnet.noether.pipeline as pipeline

    calls = {"drift": 0, "simpson": 0}
    drift, simpson = pipeline.drift, pipeline.simpson_cumulative

    def spy_drift(cv):
        calls["drift"] += 1
        return drift(cv)

    def spy_simpson(rate, h):
        calls["simpson"] += 1
        return simpson(rate, h)

    monkeypatch.setattr(pipeline, "drift", spy_drift)
    monkeypatch.setattr(pipeline, "simpson_cumulative", spy_simpson)
    found, q, p = kepler_charges
    found.check(q[:2], p[:2], dt=0.01, steps=4)
    assert calls == {"drift": 2 * len(found), "simpson": len(found)}
    _check()
    assert calls["simpson"] == len(found) + 6
    q, v = SPRING.sample_states(2, torch.Generator().manual_seed(1))
    nt.check_hamiltonian(
        SPRING.hamiltonian, "translation", q, SPRING.momentum(q, v), dt=0.02, steps=4
    )
    assert calls["simpson"] == len(found) + 9


def test_check_charges_gives_nan_orders_like_check(kepler_charges):
    """An exactly conserved charge (both drifts zero) has measured order NaN in both checks."""
    q = torch.tensor([[[1.0, 0.0, 0.0]]], dtype=torch.float64)
    p = torch.tensor([[[0.0, 0.0, 0.0]]], dtype=torch.float64)  # at rest: nothing moves
    found = kepler_charges[0]

    def free_h(q, p):
        return 0.5 * (p**2).sum((-1, -2))

    report = nt.check_charges(free_h, list(found), q, p, dt=0.01, steps=4)
    assert all(math.isnan(r.measured_order) for r in report.rows)
    free = nt.check(lambda q, v: 0.5 * (v**2).sum((-1, -2)), "translation", q, p, dt=0.01, steps=4)
    assert all(math.isnan(r.measured_order) for r in free.rows)


def test_run_is_broken_into_stages():
    import symnet.noether.checker as checker
    import symnet.noether.pipeline as pipeline

    for stage in ("prepare_states", "measure_along_trajectories", "verdict_row", "make_report"):
        assert callable(getattr(pipeline, stage))
    longest = max(
        len(inspect.getsource(f).splitlines())
        for f in vars(checker).values()
        if inspect.isfunction(f) and f.__module__ == checker.__name__
        and f.__name__ not in ("check", "check_hamiltonian")  # docstrings
    )  # fmt: skip
    assert longest <= 70


# ---------------------------------------------------------------- layout


def test_no_submodule_is_hidden_by_a_function():
    for package in ("symnet.noether", "symnet.noether.discovery"):
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            module = importlib.import_module(f"{package}.{info.name}")
            attr = getattr(pkg, info.name, module)
            assert attr is module, f"{package}.{info.name} is hidden by {attr!r}"


def test_public_functions_and_classes_keep_their_names():
    from symnet.noether import discovery

    assert nt.check.__module__ == "symnet.noether.checker"
    assert nt.check_charges.__module__ == "symnet.noether.charge_checker"
    assert nt.discover is discovery.discover
    assert nt.discover_hamiltonian is discovery.discover_hamiltonian
    for cls in (nt.SymmetryDiscovery, nt.ChargeDiscovery, nt.Charge, nt.LieAlgebra):
        assert not any(part.startswith("_") for part in cls.__module__.split("."))
    for name in nt.__all__:
        assert not getattr(nt, name).__module__.split(".")[-1].startswith("_discover")


def test_noether_holds_no_group_knowledge():
    root = Path(nt.__file__).parent
    text = "\n".join(p.read_text() for p in root.rglob("*.py"))
    assert "_LABELS" not in text and "SYMMETRY_NAMES" not in text
    assert not re.search(
        r"isinstance\([^)]*\b(Rotation|Translation|Boost|TimeShift|Permutation)\b", text
    )
    assert not re.search(r"""\.name\s*==\s*["']""", text)


def test_charge_label_is_the_generators():
    for gen in [*Translation(3).generators((2, 3)), *Rotation(2).generators((2, 2))]:
        assert nt.charge_label(gen) == gen.charge_label
    assert nt.charge_label(TimeShift().generators((2, 3))[0]) == "-E"
    with pytest.raises(TypeError, match="Generator"):
        nt.charge_label("rotation_z")


# ---------------------------------------------------------------- renamed names


def test_rng_takes_a_seed_or_a_generator():
    by_int = _check(rng=5)
    by_gen = _check(rng=torch.Generator().manual_seed(5))
    assert by_int.to_dict() == by_gen.to_dict()


def test_seed_is_a_deprecated_alias_of_rng():
    with pytest.warns(DeprecationWarning, match=r"seed= is deprecated, use rng="):
        old = _check(seed=5)
    assert old.to_dict() == _check(rng=5).to_dict()
    with pytest.raises(TypeError, match="not both"):
        _check(seed=5, rng=6)


def test_tolerances_is_a_deprecated_alias_of_thresholds(kepler_charges):
    th = nt.VerdictThresholds(drift=1e-6)
    with pytest.warns(DeprecationWarning, match=r"tolerances= is deprecated, use thresholds="):
        old = _check(tolerances=th)
    assert old.tolerances == th
    found, q, p = kepler_charges
    with pytest.warns(DeprecationWarning, match="thresholds="):
        found.check(q[:2], p[:2], dt=0.01, steps=4, tolerances=th)
    with pytest.warns(DeprecationWarning, match="thresholds="):
        nt.check_charges(KEPLER.hamiltonian, list(found), q[:2], p[:2], dt=0.01, steps=4,
                         tolerances=th)  # fmt: skip


def test_tolerances_class_is_renamed():
    import symnet.noether.verdict as verdict

    with pytest.warns(DeprecationWarning, match=r"noether.Tolerances is deprecated, use .*Verdict"):
        assert nt.Tolerances is nt.VerdictThresholds
    with pytest.warns(DeprecationWarning, match="VerdictThresholds"):
        assert verdict.Tolerances is nt.VerdictThresholds
    with pytest.raises(AttributeError):
        nt.NoSuchName  # noqa: B018


def test_assert_conserved_takes_symmetries(states):
    q, v = states
    kw = {"dt": 0.02, "steps": 6, "field": SPRING.acceleration}
    report = assert_conserved(SPRING.lagrangian, symmetries="translation", q0=q, qdot0=v, **kw)
    assert report.all_conserved
    with pytest.warns(DeprecationWarning, match=r"group= is deprecated, use symmetries="):
        old = assert_conserved(SPRING.lagrangian, group="translation", q0=q, qdot0=v, **kw)
    assert old.verdicts == report.verdicts
    with pytest.raises(TypeError, match="not both"):
        assert_conserved(SPRING.lagrangian, "rotation", q, v, group="translation", **kw)
    with pytest.raises(TypeError, match="symmetries"):
        assert_conserved(SPRING.lagrangian, q0=q, qdot0=v, **kw)


# ---------------------------------------------------------------- discovery results are reports


def test_discovery_results_are_reports(tmp_path, kepler_charges):
    q, v = SPRING.sample_states(64, torch.Generator().manual_seed(0))
    found = nt.discover(SPRING.lagrangian, q, v)
    assert found.passed and found.rows == list(found)
    data = json.loads(found.to_json(tmp_path / "found.json"))
    assert data["schema"] == "symnet.noether.discovery/1"
    assert [r["name"] for r in data["rows"]] == found.names
    assert all(r["exact"] for r in data["rows"])
    assert (tmp_path / "found.json").read_text().strip() == found.to_json().strip()
    lines = str(found).splitlines()
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("generator"))
    assert set(lines[head + 1].split()) == {"-" * len(w) for w in lines[head + 1].split()}
    charges = kepler_charges[0]
    cdata = charges.to_dict()
    assert cdata["form"] == "hamiltonian" and len(cdata["rows"]) == len(charges)
    assert "formula" in str(charges) and "Lie algebra" in str(charges)
