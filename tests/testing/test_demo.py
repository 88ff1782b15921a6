"""The flagship demo behind ``symnet demo``: runs, exits 0, prints both reports, writes plots."""

from __future__ import annotations

import pytest

from symnet._demo import main


@pytest.mark.slow
def test_demo_runs_at_a_tiny_size(capsys, tmp_path):
    out_dir = tmp_path / "out"
    assert main(small=True, out_dir=out_dir) == 0
    out = capsys.readouterr().out
    assert "[plain LNN]" in out and "[symmetric LNN]" in out
    assert out.count("Noether check (lagrangian, leapfrog") == 2
    for name in ("translation_x", "rotation_z", "time"):
        assert name in out
    assert "OK: the symmetric LNN conserves momentum and angular momentum" in out
    assert "UNEXPECTED" not in out
    for name in ("plain", "symmetric"):
        png = out_dir / f"noether_{name}_lnn.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_small_size_from_the_environment(monkeypatch, tmp_path):
    import symnet._demo as demo

    seen = {}

    def fake_check(*args, **kwargs):
        seen["steps"] = kwargs["steps"]
        raise RuntimeError("stop here")

    monkeypatch.setenv("SYMNET_DEMO_SMALL", "1")
    monkeypatch.setattr("symnet.noether.check", fake_check)
    monkeypatch.setattr("symnet.models.train", lambda *a, **k: _FakeHistory())
    with pytest.raises(RuntimeError, match="stop here"):
        demo.main(out_dir=tmp_path)
    assert seen["steps"] == demo._SMALL["steps"]


class _FakeHistory:
    epochs = 1
    train_loss = [1.0]


def test_demo_runs_on_one_thread_and_restores_the_setting(monkeypatch, tmp_path):
    """One thread inside (training and check), the user's setting after, also on errors."""
    import torch

    import symnet._demo as demo

    seen = []

    def fake_train(*args, **kwargs):
        seen.append(("train", torch.get_num_threads()))
        return _FakeHistory()

    def fake_check(*args, **kwargs):
        seen.append(("check", torch.get_num_threads()))
        raise RuntimeError("stop here")

    monkeypatch.setattr("symnet.noether.check", fake_check)
    monkeypatch.setattr("symnet.models.train", fake_train)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            demo.main(small=True, out_dir=tmp_path)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen == [("train", 1), ("train", 1), ("check", 1)]
