"""The project stands alone: its docs and docstrings cite only its own files.

Formulas and conventions live in docs/theory.md; docstrings point at its
sections as ``docs/theory.md, section '<heading>'``, and such a pointer must
name a heading that exists.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "docs" / "theory.md"

#: Where the project's own text lives.
SOURCES = ("symnet", "docs", "examples", "README.md")
#: Files outside the repository that nothing in it may cite.
FOREIGN = re.compile(r"DESIGN\.md|REFERENCES\.md|(?<![\w.-])shared/")
#: A pointer into docs/theory.md.
POINTER = re.compile(r"theory\.md,?\s+section\s+['\"]([^'\"]+)['\"]")
TEXT_SUFFIXES = {".py", ".md", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".rst", ".json"}


def _files() -> list[Path]:
    out: list[Path] = []
    for name in SOURCES:
        path = ROOT / name
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out += [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
            ]
    return out


def _headings() -> set[str]:
    return {line[3:].strip() for line in THEORY.read_text().splitlines() if line.startswith("## ")}


def test_sources_are_found() -> None:
    files = _files()
    assert ROOT / "README.md" in files
    assert any(p.suffix == ".py" and "symnet" in p.parts for p in files)
    assert THEORY in files


def test_nothing_cites_files_outside_the_repository() -> None:
    hits = []
    for path in _files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if FOREIGN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hits, "cite docs/theory.md instead of files outside the repository:\n" + "\n".join(
        hits
    )


def test_theory_has_the_sections_that_docstrings_cite() -> None:
    headings = _headings()
    assert {
        "Conventions",
        "Generators and prolongation",
        "Noether charges",
        "Balance law",
        "Verdict rules",
        "Discrete symmetries",
        "Quasi-symmetries and boundary terms",
        "Loss symmetries and training recursions",
        "Ground-truth systems",
    } <= headings
    dangling = []
    for path in _files():
        text = " ".join(path.read_text(errors="replace").split())  # pointers may wrap lines
        for section in POINTER.findall(text):
            if section not in headings:
                dangling.append(f"{path.relative_to(ROOT)}: section {section!r}")
    assert not dangling, f"pointers to sections docs/theory.md does not have: {dangling}"
