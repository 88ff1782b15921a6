"""The foundation demo behind ``symnet demo``: runs, exits 0, shows PASS and FAIL."""

from __future__ import annotations

from symnet._demo import main


def test_demo_runs_and_shows_both_verdicts(capsys):
    assert main() == 0
    out = capsys.readouterr().out
    assert "Translation(3) x Rotation(3) x Permutation()" in out
    for name in ("translation_x", "rotation_z", "transposition_01", "cycle"):
        assert name in out
    assert out.count("[PASS]") == 2 and out.count("[FAIL (as expected)]") == 2
    assert "unexpected" not in out
    assert "field_potential is not invariant under" in out
    assert "ordered_sum is not invariant under" in out
    assert "All checks came out as expected." in out
