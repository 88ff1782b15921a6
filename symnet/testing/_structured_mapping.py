"""Mapping inputs (kinds per key), and tensor inputs of functions returning a mapping.

Private module, used by :func:`symnet.testing._structured.adapt`.

Rules for ``inputs`` a ``Mapping`` (e.g. ``{"pos": (B, N, 3), "z": (B, N)}``):

* every **tensor** entry needs a kind in the ``kinds`` mapping, of the same
  key: a missing kind is an error naming the key (``"constant"`` passes an
  integer tensor through unchanged, without a batch axis); a kind whose key
  is not in ``inputs`` is an error naming it;
* entries that are not tensors (a cutoff ``5.0``, a flag, a string) are
  passed to ``fn`` unchanged and take no kind;
* tensors are batched ``(B, ...)`` and laid out as their kinds require, as
  for tuple inputs;
* ``fn`` is called as ``fn(mapping)`` with a mapping of the same keys in the
  same order, of the same type as ``inputs`` when ``type(inputs)(dict)``
  rebuilds it (``dict``, ``OrderedDict``), else a ``dict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import Tensor

from symnet.groups import as_kind
from symnet.testing._structured import Adapted, OutputSpec, Problem, fn_name

__all__ = ["mapping_problem", "tuple_problem", "check_keys", "rebuild_mapping"]


def check_keys(
    inputs: Mapping, kinds: Any, kinds_name: str, what: str = "inputs", fmt: str = "{}[{!r}]"
) -> list[Any]:
    """The keys of the tensor entries of ``inputs``, in the order of ``kinds``.

    Parameters
    ----------
    inputs : Mapping
        The structured inputs (a mapping, or a PyG object's attributes).
    kinds : Mapping
        Kinds by key.
    kinds_name, what : str
        Names of the two arguments in messages.
    fmt : str
        How an entry is named, from ``what`` and the key (``inputs['pos']``).

    Raises
    ------
    TypeError
        ``kinds`` is not a mapping, names an entry that is not a tensor, or an
        entry is a nested structure (mapping, list, tuple) holding tensors.
    ValueError
        A tensor without a kind, a kind naming no entry, or no tensor at all.
    """
    if not isinstance(kinds, Mapping):
        raise TypeError(
            f"{what} is a {type(inputs).__name__}, so {kinds_name} must be a mapping from key "
            f"to kind with the same keys (e.g. {{'pos': 'point', 'z': 'label'}}); got "
            f"{type(kinds).__name__}"
        )
    tensors = [key for key, v in inputs.items() if isinstance(v, Tensor)]
    missing = [key for key in tensors if key not in kinds]
    if missing:
        raise ValueError(
            f"{fmt.format(what, missing[0])} has no kind: {kinds_name} needs one entry per "
            f"tensor of {what} (missing: {', '.join(map(repr, missing))}); 'constant' passes "
            f"an integer tensor through unchanged"
        )
    extra = [key for key in kinds if key not in inputs]
    if extra:
        raise ValueError(
            f"{kinds_name}[{extra[0]!r}] names no entry of {what} (its keys: "
            f"{', '.join(map(repr, inputs))})"
        )
    nested = [key for key, v in inputs.items() if key not in tensors and _holds_tensors(v)]
    if nested:
        raise TypeError(
            f"{fmt.format(what, nested[0])} is a {type(inputs[nested[0]]).__name__} holding "
            f"tensors: nested structures are not supported (no group would act on their "
            f"tensors); flatten them into top-level entries with a kind each"
        )
    for key in kinds:
        if key not in tensors:
            raise TypeError(
                f"{fmt.format(what, key)} is a {type(inputs[key]).__name__}, not a tensor: "
                f"entries that are not tensors are passed to fn unchanged and take no kind; "
                f"remove {kinds_name}[{key!r}]"
            )
    if not tensors:
        raise ValueError(f"{what} holds no tensor: there is nothing for a group to act on")
    return list(kinds)


def _holds_tensors(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(isinstance(v, Tensor) or _holds_tensors(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, Tensor) or _holds_tensors(v) for v in value)
    return False


def rebuild_mapping(template: Mapping, values: Mapping) -> Mapping:
    """``template`` with the entries of ``values`` replaced; of its type where possible."""
    merged = {key: values.get(key, v) for key, v in template.items()}
    if type(template) is dict:
        return merged
    try:
        out = type(template)(merged)
    except Exception:  # noqa: BLE001 - a mapping type that cannot be built from a dict
        return merged
    return out if isinstance(out, Mapping) and list(out) == list(merged) else merged


def mapping_problem(
    fn: Callable[..., Any], inputs: Mapping, kinds: Any, out_kinds: Any, kinds_name: str
) -> Problem:
    """The problem for ``fn(mapping)`` of batched tensors with kinds per key.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_keys`; a kind that does not parse.
    """
    keys = check_keys(inputs, kinds, kinds_name)
    parsed = tuple(as_kind(kinds[key], f"{kinds_name}[{key!r}]") for key in keys)

    def rebuild(*xs: Tensor) -> tuple[tuple, dict]:
        return (rebuild_mapping(inputs, dict(zip(keys, xs, strict=True))),), {}

    spec = OutputSpec(out_kinds, fn_name(fn))
    return Problem(
        fn=Adapted(fn, rebuild, spec),
        inputs=tuple(inputs[key] for key in keys),
        in_kinds=parsed,
        out_kinds=spec.kinds,
        input_names=tuple(f"inputs[{key!r}]" for key in keys),
        output_names=spec.names,
    )


def tuple_problem(
    fn: Callable[..., Any], inputs: Any, kinds: Any, out_kinds: Mapping, kinds_name: str
) -> Problem:
    """The problem for ``fn(*inputs)`` of plain tensors returning a mapping.

    Raises
    ------
    ValueError
        A number of kinds that differs from the number of inputs.
    """
    from symnet.testing._inputs import parse_kinds

    xs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    parsed = parse_kinds(kinds, len(xs), kinds_name, "input")

    def rebuild(*ys: Tensor) -> tuple[tuple, dict]:
        return ys, {}

    spec = OutputSpec(out_kinds, fn_name(fn))
    names = (
        ("inputs",) if isinstance(inputs, Tensor) else tuple(f"inputs[{i}]" for i in range(len(xs)))
    )
    return Problem(
        fn=Adapted(fn, rebuild, spec),
        inputs=xs,
        in_kinds=parsed,
        out_kinds=spec.kinds,
        input_names=names,
        output_names=spec.names,
    )
