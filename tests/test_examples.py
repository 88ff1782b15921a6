"""Every script in examples/ runs to completion in its small configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize(
    "example",
    EXAMPLES or [None],
    ids=[p.stem for p in EXAMPLES] or ["no-examples-yet"],
)
def test_example_runs(example: Path | None, tmp_path: Path) -> None:
    assert EXAMPLES_DIR.is_dir(), "examples/ is missing"
    if example is None:
        return
    env = dict(os.environ, SYMNET_EXAMPLE_SMALL="1", MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(example)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert proc.returncode == 0, (
        f"{example.name} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
