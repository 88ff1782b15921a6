"""``examples/scale_out.py`` under ``torchrun`` prints what one process prints.

The example is also run as a plain script by ``tests/test_examples.py``; here it
is launched on 2 gloo processes through ``torch.distributed.run``, the command
the scaling guide gives, and its report and final loss must be the ones of the
single-process run, printed once (rank 0 only).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scale_out.py"


def _run(tmp_path: Path, nproc: int) -> str:
    launch = [sys.executable, str(EXAMPLE)]
    if nproc > 1:
        launch = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                  f"--nproc-per-node={nproc}", str(EXAMPLE)]  # fmt: skip
    env = dict(os.environ, SYMNET_EXAMPLE_SMALL="1", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        launch, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.mark.slow  # two launches, ~12 s
def test_two_processes_print_the_single_process_results(tmp_path: Path) -> None:
    one, two = _run(tmp_path, 1), _run(tmp_path, 2)
    assert one.startswith("1 process(es)") and two.startswith("2 process(es)")
    assert two.count("Noether check") == one.count("Noether check") == 1, two
    strip = re.compile(r"\d process\(es\)")
    assert strip.sub("N", two) == strip.sub("N", one)
    assert "conserved" in two and "broken" not in two
