"""The package is installed the way the README and the Makefile promise."""

from __future__ import annotations

import configparser
import os
import re
import shlex
from importlib.metadata import entry_points
from pathlib import Path

import symnet

ROOT = Path(__file__).resolve().parents[1]


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_version() -> None:
    assert isinstance(symnet.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.?(dev|a|b|rc)\d+)?", symnet.__version__)


def test_console_script_registered() -> None:
    (ep,) = entry_points(group="console_scripts", name="symnet")
    assert ep.value == "symnet.cli:main"
    from symnet.cli import main

    assert ep.load() is main


def test_pytest_plugin_registered() -> None:
    (ep,) = entry_points(group="pytest11", name="symnet")
    assert ep.value == "symnet.testing.plugin"


def test_ci_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK), ".ci/run must be executable"
    lines = [ln.strip() for ln in script.read_text().splitlines()]
    assert lines[0].startswith("#!") and "bash" in lines[0]
    assert "set -euo pipefail" in lines
    assert "make test" in lines


def test_readme_quick_start_is_two_commands() -> None:
    section = _section((ROOT / "README.md").read_text(), "Quick start")
    blocks = re.findall(r"```[a-z]*\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "Quick start has exactly one code block"
    commands = [ln.strip() for ln in blocks[0].splitlines() if ln.strip()]
    assert commands == ["make demo", "make test"]


def test_make_test_runs_the_whole_suite() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe, "Makefile has a 'test' target"
    assert "-m pytest" in recipe.group(1)
    assert "not slow" not in recipe.group(1)


def test_dependencies_are_ranges_not_pins() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    requirements = [r for r in cfg["options"]["install_requires"].split("\n") if r.strip()]
    names = {re.split(r"[<>=!~\[ ]", r.strip(), maxsplit=1)[0].lower() for r in requirements}
    assert {"torch", "numpy", "e3nn", "torch-geometric", "torchdiffeq", "tqdm"} <= names
    for requirement in requirements:
        assert "==" not in requirement, f"pinned dependency: {requirement}"
    for extra, value in cfg["options.extras_require"].items():
        for requirement in shlex.split(value):
            assert "==" not in requirement, f"pinned dependency in [{extra}]: {requirement}"


def test_real_model_peers_are_in_the_test_extra() -> None:
    # tests/third_party checks egnn-pytorch's models as they are: `make test` installs it.
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    test_extra = shlex.split(cfg["options.extras_require"]["test"])
    names = {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower() for r in test_extra}
    assert "egnn-pytorch" in names
