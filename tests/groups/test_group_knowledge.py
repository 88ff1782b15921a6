"""All group knowledge lives in symnet.groups: a grep over the rest of the package.

Outside ``symnet/groups/`` no code may test for a concrete group class
(``isinstance(g, Rotation)``), compare a name with a group or generator name
(``gen.name == "time"``, ``name.startswith("boost_")``), or keep a table keyed
by group names (``{"translation": "P", "rotation": "L"}``). What other
packages need is a method or attribute of the group (``Group.charge_symbol``,
``Group.by_name``, ``Group.elements``, ``Group.act_output``, ...).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import symnet.groups as groups
from symnet.groups import Group

ROOT = Path(groups.__file__).resolve().parents[1]  # the symnet package
GROUPS = ROOT / "groups"

#: Every concrete (and abstract) group class that symnet.groups defines, except Group itself.
GROUP_CLASSES = {
    name
    for name, obj in vars(groups).items()
    if inspect.isclass(obj) and issubclass(obj, Group) and obj is not Group
}
#: Group and generator names: "translation", "rotation_z", "boost_0", "time", ...
_FAMILIES = "|".join(map(re.escape, Group.registered_names()))
NAME = re.compile(rf"^({_FAMILIES})(_([xyz]|\d+))?$")


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if GROUPS not in p.parents)


def _names(node: ast.AST) -> list[str]:
    """The class names in the second argument of isinstance (a name, attribute or tuple)."""
    if isinstance(node, ast.Tuple):
        return [n for elt in node.elts for n in _names(elt)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    return []


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for elt in node.elts for s in _strings(elt)]
    return []


def violations(source: str, where: str) -> list[str]:
    """Group knowledge outside symnet.groups in ``source``, one message per finding."""
    out = []
    for node in ast.walk(ast.parse(source)):
        line = f"{where}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "isinstance" and len(node.args) == 2:
                bad = sorted(set(_names(node.args[1])) & GROUP_CLASSES)
                if bad:
                    out.append(f"{line}: isinstance on concrete group class {', '.join(bad)}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith") and node.args:
                bad = [s for s in _strings(node.args[0]) if NAME.match(s.rstrip("_"))]
                if bad:
                    out.append(f"{line}: {node.func.attr}({bad[0]!r}) on a generator name")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            bad = [s for o in operands for s in _strings(o) if NAME.match(s)]
            if bad:
                out.append(f"{line}: comparison with the group/generator name {bad[0]!r}")
        if isinstance(node, ast.Dict):
            keys = [s for k in node.keys if k is not None for s in _strings(k) if NAME.match(s)]
            if len(keys) >= 2:
                out.append(f"{line}: a table keyed by group names {keys}")
    return out


def test_the_detector_finds_each_pattern() -> None:
    source = (
        "if isinstance(g, (Group, Rotation)): pass\n"
        "if gen.name == 'rotation_z' or family in ('time', 'boost'): pass\n"
        "ok = name.startswith('boost_')\n"
        "LABELS = {'translation': 'P', 'rotation': 'L'}\n"
        "fine = isinstance(g, Group) and k.name == 'point' and {'a': 1, 'b': 2}\n"
    )
    found = violations(source, "x.py")
    assert {f.split(":")[1] for f in found} == {"1", "2", "3", "4"}, found
    assert not [f for f in found if f.startswith("x.py:5")]


def test_no_group_knowledge_outside_symnet_groups() -> None:
    found = [v for p in _sources() for v in violations(p.read_text(), str(p.relative_to(ROOT)))]
    assert not found, "group knowledge outside symnet.groups:\n" + "\n".join(found)
