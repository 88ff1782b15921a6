"""Every script in examples/ runs to completion in its small configuration.

The scripts are collected once, at import; :func:`test_every_example_is_collected`
fails when examples/ is missing or empty, when a script lies where the
collection does not look (a subfolder), or when the docs name a script that is
not collected, so that a lost example can never turn into a silent pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py")) if EXAMPLES_DIR.is_dir() else []
#: Text files that name examples as ``examples/<name>.py``.
MENTIONS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
if EXAMPLES_DIR.is_dir():
    MENTIONS += sorted(EXAMPLES_DIR.rglob("*.md"))


def test_every_example_is_collected() -> None:
    assert EXAMPLES_DIR.is_dir(), "examples/ is missing"
    assert EXAMPLES, "examples/ holds no *.py script: nothing would be tested"
    collected = {p.resolve() for p in EXAMPLES}
    scripts = {p.resolve() for p in EXAMPLES_DIR.rglob("*.py") if "__pycache__" not in p.parts}
    missed = sorted(str(p.relative_to(ROOT)) for p in scripts - collected)
    assert not missed, f"scripts in examples/ that test_example_runs does not run: {missed}"
    named = set()
    for path in MENTIONS:
        if path.is_file():
            named |= set(re.findall(r"examples/([A-Za-z0-9_]+\.py)", path.read_text()))
    unknown = sorted(named - {p.name for p in EXAMPLES})
    assert not unknown, f"the docs name examples that do not exist or are not run: {unknown}"
    # An example shrinks itself under SYMNET_EXAMPLE_SMALL (examples/README.md).
    big = [p.name for p in EXAMPLES if "SYMNET_EXAMPLE_SMALL" not in p.read_text()]
    assert not big, f"examples that ignore SYMNET_EXAMPLE_SMALL: {big}"


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(example: Path, tmp_path: Path) -> None:
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
