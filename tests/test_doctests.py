"""The ``>>>`` examples in the docstrings of every symnet module run and are right.

One test case per module, found by walking the package with
:func:`pkgutil.walk_packages`: a module that fails to import fails its case, a
module without examples passes with ``0`` examples recorded (the count is
attached to the test report as the ``doctests`` property), and the suite
checks that the walk found examples at all and in every public package.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil
import warnings
from pathlib import Path

import pytest
import torch

import symnet

OPTIONFLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS

#: Third-party packages that symnet only needs for some features (extras):
#: a module whose import fails because one of them is missing is skipped.
OPTIONAL = {"matplotlib", "pytest", "hypothesis"}

#: Modules whose examples show float64 results and assume float64 as torch's
#: default dtype (the dtype the checkers evaluate in).
FLOAT64 = frozenset()

#: Packages whose docstrings must contain examples (a walk that finds none is broken).
PACKAGES = (
    "symnet.groups",
    "symnet.mechanics",
    "symnet.systems",
    "symnet.noether",
    "symnet.learning",
    "symnet.nn",
    "symnet.models",
    "symnet.testing",
)


def _module_names() -> list[str]:
    broken: list[str] = []
    names = [symnet.__name__]
    for info in pkgutil.walk_packages(symnet.__path__, prefix="symnet.", onerror=broken.append):
        names.append(info.name)
    # A package that fails to import while walking is listed too, so that its test fails.
    return sorted(set(names) | set(broken))


MODULES = _module_names()


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"{name} needs the optional dependency {exc.name!r}")
        raise


SYMNET_DIR = str(Path(symnet.__file__).resolve().parent)


def _own_deprecation(w: warnings.WarningMessage) -> bool:
    """A DeprecationWarning raised for an example, or for symnet's own code, using an old name."""
    if not issubclass(w.category, DeprecationWarning):
        return False
    filename = str(w.filename)
    return filename.startswith("<doctest") or filename.startswith(SYMNET_DIR)


def _run(name: str) -> tuple[int, int, str, list[str]]:
    """Run the examples of one module.

    Returns the number of examples attempted and failed, the failure report,
    and the deprecation warnings of symnet's old names that the examples hit.
    """
    module = _import(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    out = io.StringIO()
    dtype = torch.get_default_dtype()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if name in FLOAT64:
                torch.set_default_dtype(torch.float64)
            for test in sorted(tests, key=lambda t: t.name):
                runner.run(test, out=out.write)
        finally:
            torch.set_default_dtype(dtype)
    deprecated = sorted(
        {f"{w.filename}:{w.lineno}: {w.message}" for w in caught if _own_deprecation(w)}
    )
    result = runner.summarize(verbose=False)
    return result.attempted, result.failed, out.getvalue(), deprecated


def test_walk_finds_every_package() -> None:
    assert len(MODULES) > 20, MODULES
    for package in PACKAGES:
        assert package in MODULES, f"pkgutil.walk_packages did not reach {package}"


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str, record_property) -> None:
    attempted, failed, report, deprecated = _run(name)
    record_property("doctests", attempted)
    assert failed == 0, f"{failed} of {attempted} examples failed in {name}:\n{report}"
    # Examples show the current names: an old name's DeprecationWarning is a failure.
    assert not deprecated, f"the examples of {name} use deprecated names:\n" + "\n".join(deprecated)


def test_examples_exist_in_every_package() -> None:
    """Examples exist overall and in each public package (counted independently of order)."""
    counts = {}
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue  # reported by test_doctests
        tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
        counts[name] = sum(len(t.examples) for t in tests)
    assert sum(counts.values()) > 0
    for package in PACKAGES:
        total = sum(n for m, n in counts.items() if m == package or m.startswith(package + "."))
        assert total > 0, f"no >>> examples found in {package}"
