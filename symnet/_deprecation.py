"""Renamed public names keep working for one release, with a DeprecationWarning.

Private module. Two helpers cover every rename listed in CHANGELOG.md:

- :func:`renamed_argument` for a keyword argument (``seed=`` -> ``rng=``);
- :func:`renamed_attribute` for a module-level name (a class or function), to
  be called from the module's ``__getattr__``.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["MISSING", "renamed_argument", "renamed_attribute"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Default of a deprecated keyword argument: "not passed".
MISSING: Any = _Missing()


def renamed_argument(
    old: str,
    new: str,
    old_value: Any,
    new_value: Any,
    *,
    where: str,
    new_default: Any = None,
    stacklevel: int = 3,
) -> Any:
    """The value to use when argument ``old`` was renamed to ``new``.

    Parameters
    ----------
    old, new : str
        Old and new argument names.
    old_value : Any
        What the caller passed as ``old`` (:data:`MISSING` when not passed).
    new_value : Any
        What the caller passed as ``new``.
    where : str
        The function's public name, for the message (``"symnet.noether.check"``).
    new_default : Any
        The default of ``new``: passing ``old`` together with a non-default
        ``new`` is an error.
    stacklevel : int
        Of the warning: 3 points at the caller of the function that calls this.

    Returns
    -------
    Any
        ``old_value`` (with a DeprecationWarning) when it was passed, else ``new_value``.
    """
    if old_value is MISSING:
        return new_value
    if new_value is not new_default and new_value != new_default:
        raise TypeError(f"{where}: pass {new}= only ({old}= is its deprecated name), not both")
    warnings.warn(
        f"{where}: the argument {old}= is deprecated, use {new}= instead",
        DeprecationWarning,
        stacklevel=stacklevel,
    )
    return old_value


def renamed_attribute(module: str, name: str, renames: dict[str, tuple[str, Any]]) -> Any:
    """Resolve a deprecated module attribute (for a module's ``__getattr__``).

    Parameters
    ----------
    module : str
        The module's public name (``"symnet.noether"``).
    name : str
        The attribute asked for.
    renames : dict
        ``{old name: (new name, object)}``.

    Raises
    ------
    AttributeError
        ``name`` is not a deprecated name of the module.
    """
    if name in renames:
        new, obj = renames[name]
        warnings.warn(
            f"{module}.{name} is deprecated, use {module}.{new} instead",
            DeprecationWarning,
            stacklevel=3,
        )
        return obj
    raise AttributeError(f"module {module!r} has no attribute {name!r}")
