"""The "Testing your model" page (docs/testing.md): its python blocks run and are ruff-clean.

The blocks form one program: they are executed in order in one namespace,
as a reader would paste them, and every ``assert`` / ``pytest.raises`` in
them must hold. Linting runs on the blocks joined in order (so that names
from earlier blocks are defined), formatting on each block alone.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "testing.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def _blocks() -> list[tuple[int, str]]:
    """``(line number, code)`` of every python block of the page, in order."""
    text = PAGE.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in FENCE.finditer(text)]


def _ruff(*args: str, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
    )


def test_page_is_in_the_nav_and_has_the_recipes() -> None:
    assert "testing.md" in (ROOT / "mkdocs.yml").read_text()
    headings = re.findall(r"^## (.+)$", PAGE.read_text(), re.M)
    for recipe in ("Plain tensors", "Atom types", "Parity", "PyG", "autograd", "e3nn", "egnn"):
        assert any(recipe in h for h in headings), f"no section for {recipe!r}: {headings}"
    assert len(_blocks()) >= 10


@pytest.mark.slow
def test_python_blocks_run_in_order() -> None:
    namespace: dict = {"__name__": "docs_testing"}
    default = torch.get_default_dtype()
    try:
        with warnings.catch_warnings():
            # the page shows current names: a deprecation attributed to a block is an error
            warnings.filterwarnings("error", category=DeprecationWarning, module="docs_testing")
            for line, code in _blocks():
                exec(compile(code, f"{PAGE}:{line}", "exec"), namespace)
                assert torch.get_default_dtype() == default, f"block at line {line}"
    finally:
        torch.set_default_dtype(default)


def test_python_blocks_are_lint_clean() -> None:
    program = "\n\n".join(code for _, code in _blocks())
    # one program pasted from blocks: its imports are not all at the top, and it has no docstring
    proc = _ruff(
        "check", "--extend-ignore", "E402,D", "--stdin-filename", "testing_md.py", "-",
        stdin=program,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("line", [line for line, _ in _blocks()])
def test_python_block_is_formatted(line: int) -> None:
    code = dict(_blocks())[line]
    proc = _ruff("format", "--stdin-filename", "block.py", "-", stdin=code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == code, f"docs/testing.md:{line}: `ruff format` would change this block"
