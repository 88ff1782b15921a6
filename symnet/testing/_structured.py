r"""Structured inputs and outputs of the symmetry assertions.

Private module. :func:`adapt` turns a function of structured inputs into one
or more :class:`Problem`\ s over plain batched tensors that the engine
checks; plain tensors and tuples of tensors are not adapted (``None``).

Four layouts are recognised, in this order:

* **PyG** ``torch_geometric.data.Data`` / ``Batch``, kinds per attribute
  (:mod:`symnet.testing._structured_pyg`). The group acts within each graph;
  graphs of unequal node counts are split into one problem per node count.
* **Flat layout**: a tuple or mapping of flat ``(sum N_i, ...)`` tensors with
  one entry of kind ``"batch"``, the graph id of every node
  (:mod:`symnet.testing._structured_flat`), as PyG's ``SchNet.forward(z, pos,
  batch)`` or e3nn's ``gate_points_2101.Network`` dictionaries take them.
* **Mapping** of batched tensors, kinds per key
  (:mod:`symnet.testing._structured_mapping`); ``fn(mapping)``.
* Plain tensor inputs with ``out_kinds`` a mapping: ``fn(*inputs)`` returns a
  mapping.

Outputs (every layout): ``fn`` may return a tensor, a tuple of tensors or a
mapping of tensors. For a mapping, ``out_kinds`` is a mapping from key to
kind (or None: every tensor value is checked for invariance). A key of the
returned mapping without an entry in ``out_kinds`` is an error; an entry
whose kind is None is not checked (``{"energy": "global", "stress": None}``);
a value that is None in the returned mapping (``"stress": None``) is skipped.
Rows are named ``out['energy']``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from symnet.groups import Kind, as_kind

__all__ = ["Problem", "adapt", "OutputSpec", "Adapted", "BATCH", "is_batch_kind", "fn_name"]

#: The kind name of a flat layout's batch vector (graph id of every node).
BATCH = "batch"


@dataclass(frozen=True)
class Problem:
    """One check over plain tensors, built from structured inputs.

    Attributes
    ----------
    fn : callable
        ``fn(*inputs)`` returning a tuple of tensors, one per entry of
        ``output_names``; rebuilds the structure, calls the user's function
        and flattens what it returns (each output batched ``(B, ...)``). It
        is an ``nn.Module`` holding the user's module as a submodule, so a
        cast copy (``cast_callable(problem.fn, dtype)``) casts the model too.
    inputs : tuple of Tensor
        Batched tensors ``(B, ...)`` laid out as their kinds require (inputs
        of kind ``constant`` are not batched).
    in_kinds : tuple of Kind
        One kind per entry of ``inputs``.
    out_kinds : tuple of Kind or None
        One kind per output, or None for an invariance check.
    input_names : tuple of str
        Names for messages, e.g. ``"inputs['pos']"``, ``"data.pos"``.
    output_names : sequence of str
        Names for report rows, e.g. ``"out['energy']"``. When the outputs are
        not known before ``fn`` runs (an invariance check, ``out_kinds`` is
        None), this list is filled by the first call of ``fn``: read it after
        that call.
    label : str
        Which part of the inputs this problem covers (``""`` for all of it,
        ``"graphs of 5 nodes"`` when graphs of unequal sizes are split).
    """

    fn: Callable[..., tuple[Tensor, ...]]
    inputs: tuple[Tensor, ...]
    in_kinds: tuple[Any, ...]
    out_kinds: tuple[Any, ...] | None
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    label: str = ""


def is_batch_kind(kind: Any) -> bool:
    """True for the flat layout's ``"batch"`` kind."""
    return isinstance(kind, str) and kind == BATCH


def fn_name(fn: Any) -> str:
    """A short name of the user's function for messages."""
    if isinstance(fn, nn.Module):
        return type(fn).__name__
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return "fn" if name == "<lambda>" else name


def _is_pyg(obj: Any) -> bool:
    return any(c.__module__.startswith("torch_geometric.data") for c in type(obj).__mro__)


def adapt(
    fn: Callable[..., Any],
    inputs: Any,
    in_kinds: Any,
    out_kinds: Any,
    *,
    kinds_name: str = "kinds",
) -> list[Problem] | None:
    """Problems over plain tensors for structured ``inputs``; None for tensors and tuples.

    Parameters
    ----------
    fn : callable
        The user's function of the structured inputs (pass it already cast to
        the check's dtype, or cast the returned ``Problem.fn``).
    inputs : Any
        A tensor or tuple of tensors (returns None unless ``in_kinds`` holds
        ``"batch"`` or ``out_kinds`` is a mapping), a ``Mapping`` of tensors,
        or a PyG ``Data``/``Batch``.
    in_kinds : Any
        For a mapping or a PyG object: a mapping from key/attribute to kind.
        For a flat layout, one entry is ``"batch"``.
    out_kinds : Any
        None (invariance), a kind or tuple of kinds, or a mapping from output
        key to kind for functions returning a mapping.
    kinds_name : str
        Name of the kinds argument in messages (``"kinds"`` or ``"in_kinds"``).

    Returns
    -------
    list of Problem or None
        One problem, or one per node count for graphs of unequal sizes.

    Raises
    ------
    TypeError, ValueError
        Kinds that do not match the structure (a key without a kind, a kind
        naming no key or attribute, a per-node attribute without a particle
        axis), naming the key or attribute.

    Examples
    --------
    >>> import torch
    >>> inputs = {"pos": torch.randn(2, 4, 3), "z": torch.randint(1, 5, (2, 4))}
    >>> energy = lambda d: d["pos"].norm(dim=-1).sum(-1)
    >>> [p] = adapt(energy, inputs, {"pos": "point", "z": "label"}, None)
    >>> p.input_names, [tuple(x.shape) for x in p.inputs]
    (("inputs['pos']", "inputs['z']"), [(2, 4, 3), (2, 4)])
    >>> z, pos = torch.randint(1, 5, (7,)), torch.randn(7, 3)  # graphs of 3 and 4 nodes
    >>> batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    >>> flat = adapt(lambda z, pos, batch: pos, (z, pos, batch), ("label", "point", "batch"), None)
    >>> [(p.label, tuple(p.inputs[1].shape)) for p in flat]
    [('graphs of 3 nodes', (1, 3, 3)), ('graphs of 4 nodes', (1, 4, 3))]
    """
    if _is_pyg(inputs):
        from symnet.testing._structured_pyg import pyg_problems

        return pyg_problems(fn, inputs, in_kinds, out_kinds, kinds_name)
    flat = _has_batch_kind(in_kinds)
    if isinstance(inputs, Mapping) or flat:
        if flat:
            from symnet.testing._structured_flat import flat_problems

            return flat_problems(fn, inputs, in_kinds, out_kinds, kinds_name)
        from symnet.testing._structured_mapping import mapping_problem

        return [mapping_problem(fn, inputs, in_kinds, out_kinds, kinds_name)]
    if isinstance(out_kinds, Mapping) and isinstance(inputs, (Tensor, tuple, list)):
        from symnet.testing._structured_mapping import tuple_problem

        return [tuple_problem(fn, inputs, in_kinds, out_kinds, kinds_name)]
    return None


def _has_batch_kind(kinds: Any) -> bool:
    if isinstance(kinds, Mapping):
        return any(is_batch_kind(k) for k in kinds.values())
    if isinstance(kinds, (tuple, list)) and not isinstance(kinds, str):
        return any(is_batch_kind(k) for k in kinds)
    return False


# ----------------------------------------------------------------- outputs
class _OutputNames(list):
    """Output names filled by the first call; shared (not copied) by copies of the module."""

    def __deepcopy__(self, memo: dict) -> _OutputNames:
        return self

    def __copy__(self) -> _OutputNames:
        return self


Reshape = Callable[[Tensor, Any, str], Tensor]


class OutputSpec:
    """How the user's outputs are matched with ``out_kinds`` and named.

    Parameters
    ----------
    out_kinds : Any
        None, a kind, a tuple of kinds, or a mapping from key to kind (None
        values: not checked).
    fn_label : str
        The user's function's name, for messages.
    """

    def __init__(self, out_kinds: Any, fn_label: str) -> None:
        self.fn_label = fn_label
        self.by_key: dict[Any, Kind] | None = None
        self.kinds: tuple[Kind, ...] | None = None
        if isinstance(out_kinds, Mapping):
            self.by_key = {}
            self.skipped = set()
            for key, k in out_kinds.items():
                if k is None:
                    self.skipped.add(key)
                else:
                    self.by_key[key] = as_kind(k, f"out_kinds[{key!r}]")
            if not self.by_key:
                raise ValueError(
                    "every entry of out_kinds is None: no output would be checked, so the check "
                    "would test nothing; give at least one output a kind"
                )
            self.kinds = tuple(self.by_key.values())
            self.names = _OutputNames(f"out[{key!r}]" for key in self.by_key)
        elif out_kinds is None:
            self.names = _OutputNames()
        else:
            many = isinstance(out_kinds, (tuple, list)) and not _single(out_kinds)
            items = list(out_kinds) if many else [out_kinds]
            self.kinds = tuple(
                as_kind(k, f"out_kinds[{i}]" if many else "out_kinds") for i, k in enumerate(items)
            )
            n = len(self.kinds)
            self.names = _OutputNames(["out"] if n == 1 else [f"out[{i}]" for i in range(n)])

    def flatten(self, out: Any, reshape: Reshape | None = None) -> tuple[Tensor, ...]:
        """The outputs as a tuple of tensors in the order of :attr:`names`.

        ``reshape(y, kind, name)`` brings each output to its batched layout
        (graph layouts); ``kind`` is None for an invariance check.

        Raises
        ------
        TypeError
            A return value of an unsupported type, a mapping where
            ``out_kinds`` is a tuple or the reverse.
        ValueError
            Keys of the returned mapping that do not match ``out_kinds``, or
            outputs that change between calls.
        """
        if isinstance(out, Mapping):
            keys, values = self._from_mapping(out)
            names = [f"out[{key!r}]" for key in keys]
        else:
            if self.by_key is not None:
                raise TypeError(
                    f"out_kinds is a mapping (keys {_keys(self.by_key)}), but {self.fn_label} "
                    f"returned a {type(out).__name__}; give out_kinds as a kind or a tuple of "
                    f"kinds, or return a mapping"
                )
            values = [out] if isinstance(out, Tensor) else out
            if not isinstance(values, (tuple, list)):
                raise TypeError(
                    f"{self.fn_label} must return a tensor, a tuple of tensors or a mapping of "
                    f"tensors, got {type(out).__name__}"
                )
            n = len(values)
            names = ["out"] if isinstance(out, Tensor) else [f"out[{i}]" for i in range(n)]
            for name, v in zip(names, values, strict=True):
                if not isinstance(v, Tensor):
                    raise TypeError(
                        f"{self.fn_label} output {name} must be a tensor, got {type(v).__name__}"
                    )
        if self.kinds is None:
            if not self.names:
                self.names.extend(names)
            elif list(self.names) != names:
                raise ValueError(
                    f"{self.fn_label} returned outputs {', '.join(names)} on one call and "
                    f"{', '.join(self.names)} on another; the outputs must not change"
                )
        kinds = self.kinds if self.kinds is not None else (None,) * len(values)
        if len(kinds) != len(values):
            raise ValueError(
                f"out_kinds has {len(kinds)} kind(s) but {self.fn_label} returned "
                f"{len(values)} output(s); expected one kind per output"
            )
        if reshape is None:
            return tuple(values)
        return tuple(
            reshape(v, k, f"{self.fn_label} output {name}")
            for v, k, name in zip(values, kinds, names, strict=True)
        )

    def _from_mapping(self, out: Mapping) -> tuple[list[Any], list[Tensor]]:
        if self.by_key is None and self.kinds is not None:
            raise TypeError(
                f"{self.fn_label} returned a mapping (keys {_keys(out)}), but out_kinds is not a "
                f"mapping; give out_kinds as a mapping from key to kind, e.g. "
                f"{{'energy': 'global', 'forces': 'vector'}}"
            )
        present = {key: v for key, v in out.items() if v is not None}
        for key, v in present.items():
            if not isinstance(v, Tensor):
                raise TypeError(
                    f"{self.fn_label} output out[{key!r}] must be a tensor or None, got "
                    f"{type(v).__name__}"
                )
        if self.by_key is None:
            if not present:
                raise ValueError(
                    f"{self.fn_label} returned a mapping without tensors: nothing to check"
                )
            return list(present), list(present.values())
        unknown = [key for key in present if key not in self.by_key and key not in self.skipped]
        if unknown:
            raise ValueError(
                f"{self.fn_label} output out[{unknown[0]!r}] has no entry in out_kinds; add "
                f"out_kinds[{unknown[0]!r}] (a kind, or None not to check it)"
            )
        absent = [key for key in self.by_key if key not in present]
        if absent:
            raise ValueError(
                f"out_kinds[{absent[0]!r}] names no tensor output of {self.fn_label} (it "
                f"returned {_keys(present)})"
            )
        return list(self.by_key), [present[key] for key in self.by_key]


def _single(kinds: Any) -> bool:
    from symnet.testing._inputs import _is_single_kind

    return _is_single_kind(kinds)


def _keys(m: Mapping) -> str:
    return ", ".join(repr(k) for k in m) or "none"


# ------------------------------------------------------------ the wrapper
class Adapted(nn.Module):
    """``fn`` of the problem's plain tensors: rebuild, call the user's function, flatten.

    Parameters
    ----------
    fn : callable
        The user's function; a module (or the module of a bound method) is
        registered as a submodule, so that casting this wrapper casts it.
    rebuild : callable
        ``rebuild(*xs) -> (args, kwargs)`` for the user's function.
    outputs : OutputSpec
        How the outputs are matched and named.
    reshape : callable, optional
        ``reshape(y, kind, name)`` applied to every output.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        rebuild: Callable[..., tuple[tuple, dict]],
        outputs: OutputSpec,
        reshape: Reshape | None = None,
    ) -> None:
        super().__init__()
        owner = getattr(fn, "__self__", None)
        if isinstance(fn, nn.Module):
            self.model = fn
            self._method: str | None = None
        elif isinstance(owner, nn.Module) and isinstance(getattr(fn, "__name__", None), str):
            self.model = owner
            self._method = fn.__name__
        else:
            self._plain = fn
            self._method = None
        self._rebuild = rebuild
        self._outputs = outputs
        self._reshape = reshape

    def _target(self) -> Callable[..., Any]:
        if "model" in self._modules:
            return self.model if self._method is None else getattr(self.model, self._method)
        return self._plain

    def forward(self, *xs: Tensor) -> tuple[Tensor, ...]:
        """Rebuild the structure from ``xs``, call the user's function, flatten its outputs."""
        args, kwargs = self._rebuild(*xs)
        return self._outputs.flatten(self._target()(*args, **kwargs), self._reshape)
