"""Validation and preparation of the arguments of the symmetry assertions.

Every error names the argument (``inputs[1]``, ``out_kinds[0]``, ``t``) and
what was expected. Inputs are cast to the check's dtype on copies; the
caller's tensors are never modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from symnet._util import check_finite, check_tensor, format_shape
from symnet.groups import Group, Kind, as_kind
from symnet.groups.kinds import _is_irreps, check_layout
from symnet.groups.reps import Rep
from symnet.testing._calls import output_names

__all__ = ["Prepared", "prepare", "parse_kinds", "check_outputs", "INTEGER_KINDS"]

_PARTICLE_VECTOR = ("point", "vector")
_TIME = Kind("time")
_CONSTANT = "constant"
#: Kinds of integer (or categorical) inputs: batched, acted on, never cast nor differentiated.
INTEGER_KINDS = ("label", "index")


@dataclass(frozen=True)
class Prepared:
    """Inputs cast to the check's dtype, their kinds, time and configuration shape.

    Attributes
    ----------
    inputs : tuple of Tensor
        Copies of the inputs, each of shape ``(B, ...)``.
    kinds : tuple of Kind
        One per input.
    t : Tensor or None
        Time for boosts, shape ``(B,)``.
    config_shape : tuple of int
        ``(N, d)`` for sampling group elements.
    constants : tuple of (int, Tensor)
        The inputs of kind ``constant`` with their positions among all the
        inputs; they are not in ``inputs`` (no batch axis, no cast, no
        action, no tangent) and the caller puts them back.
    names : tuple of str
        Names of all the inputs (constants included), for messages.
    """

    inputs: tuple[Tensor, ...]
    kinds: tuple[Kind, ...]
    t: Tensor | None
    config_shape: tuple[int, ...]
    constants: tuple[tuple[int, Tensor], ...] = ()
    names: tuple[str, ...] = ()

    @property
    def fixed(self) -> tuple[bool, ...]:
        """Per entry of ``inputs``: True for integer kinds (no cast, no tangent)."""
        return tuple(is_integer_kind(k) for k in self.kinds)


def is_integer_kind(kind: Kind) -> bool:
    """True for the kinds of :data:`INTEGER_KINDS` (``label``, ``index``)."""
    return kind.name in INTEGER_KINDS


def particle_dim(kind: Kind) -> int:
    """The particle axis of ``kind`` (-1 for labels, -2 otherwise)."""
    return int(getattr(kind, "particle_dim", -1 if kind.name == "label" else -2))


def _is_single_kind(kinds: Any) -> bool:
    return isinstance(kinds, (str, Kind, Rep)) or _is_irreps(kinds)


def parse_kinds(kinds: Any, n: int, name: str, what: str) -> tuple[Kind, ...]:
    """One :class:`Kind` per tensor; a single kind is accepted when ``n == 1``.

    Raises
    ------
    ValueError
        Wrong number of kinds, or an unknown kind name.
    TypeError
        A kind of an unsupported type.
    """
    if _is_single_kind(kinds):
        items: list[Any] = [kinds]
        single = True
    elif isinstance(kinds, (list, tuple)):
        items, single = list(kinds), False
    else:
        raise TypeError(
            f"{name} must be a kind (str, Kind or e3nn Irreps) or a tuple of kinds, one per "
            f"{what}; got {type(kinds).__name__}"
        )
    if len(items) != n:
        raise ValueError(
            f"{name} has {len(items)} kind{'s' if len(items) != 1 else ''} but there "
            f"{'is' if n == 1 else 'are'} {n} {what}{'s' if n != 1 else ''}; expected one kind "
            f"per {what}"
        )
    return tuple(as_kind(k, name if single else f"{name}[{i}]") for i, k in enumerate(items))


def _as_tensors(inputs: Any) -> tuple[Tensor, ...]:
    if isinstance(inputs, Tensor):
        return (inputs,)
    if isinstance(inputs, (list, tuple)):
        if not inputs:
            raise ValueError("inputs is empty; expected a tensor or a tuple of tensors")
        return tuple(inputs)
    raise TypeError(
        f"inputs must be a torch.Tensor or a tuple of tensors, got {type(inputs).__name__}"
    )


def _check_kind_for_group(kind: Kind, group: Group, name: str) -> None:
    for f in group.factors:
        if not f.supports_kind(kind):
            need = "e3nn irreps need Rotation(3) and " if kind.name == "irreps" else ""
            raise ValueError(
                f"{name} has kind {kind}, but {need}the group {group!r} contains {f!r}, "
                f"which cannot act on it"
            )


def _check_against_group(x: Tensor, kind: Kind, group: Group, name: str) -> None:
    check_layout(kind, x, name)
    _check_kind_for_group(kind, group, name)
    if group.dim is not None and kind.name in _PARTICLE_VECTOR and x.shape[-1] != group.dim:
        raise ValueError(
            f"{name} of kind {kind} has last dimension {x.shape[-1]}, but {group!r} acts in "
            f"d = {group.dim} dimensions; expected shape (B, ..., N, {group.dim}), "
            f"got {format_shape(x.shape)}"
        )


def _config_shape(
    group: Group, xs: Sequence[Tensor], kinds: Sequence[Kind], more: Sequence[Kind] = ()
) -> tuple[int, ...]:
    """``(N, d)``: N from the first particle-axis input, d from the group or the first point."""
    first_pv = next((x for x, k in zip(xs, kinds, strict=True) if k.name in _PARTICLE_VECTOR), None)
    first_p = next(((x, k) for x, k in zip(xs, kinds, strict=True) if k.particle_axis), None)
    N = int(first_pv.shape[-2]) if first_pv is not None else None
    if N is None:
        # a representation with permutation parts fixes N (PermRep(G, N) * Vector(G))
        reps = [k.rep for k in (*kinds, *more) if k.name == "rep" and k.rep.particles()]
        N = reps[0].particles() if reps else None
    if N is None:
        N = int(first_p[0].shape[particle_dim(first_p[1])]) if first_p is not None else 1
    if group.dim is not None:
        d = group.dim
    elif first_pv is not None:
        d = int(first_pv.shape[-1])
    else:
        d = 1
    return (N, d)


def _prepare_time(t: Any, batch: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    if not isinstance(t, Tensor):
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise TypeError(
                f"t must be a float or a tensor of shape ({batch},), got {type(t).__name__}"
            )
        t = torch.tensor(float(t))
    t = check_tensor(t, "t", finite=True)
    if t.dim() == 0:
        t = t.expand(batch)
    if tuple(t.shape) != (batch,):
        raise ValueError(
            f"t must be a scalar or have shape ({batch},), got {format_shape(t.shape)}"
        )
    return t.detach().to(dtype=dtype, device=device, copy=True)


def _check_not_empty(xs: Sequence[Tensor], kinds: Sequence[Kind], names: Sequence[str]) -> None:
    """Refuse inputs on which a check would test nothing (an empty check is no pass).

    Raises
    ------
    ValueError
        The batch is empty (B = 0), an input with a particle axis has no
        particles (N = 0), or every input has zero entries.
    """
    if int(xs[0].shape[0]) == 0:
        raise ValueError(
            f"{names[0]} has batch size B = 0 (shape {format_shape(xs[0].shape)}): a check on "
            f"no rows tests nothing; pass at least one row"
        )
    for x, k, name in zip(xs, kinds, names, strict=True):
        if k.particle_axis and int(x.shape[particle_dim(k)]) == 0:
            raise ValueError(
                f"{name} has N = 0 particles (shape {format_shape(x.shape)}): a check on no "
                f"particles tests nothing; pass at least one particle"
            )
    if all(x.numel() == 0 for x in xs):
        shapes = ", ".join(f"{n} {format_shape(x.shape)}" for n, x in zip(names, xs, strict=True))
        raise ValueError(f"every input is empty ({shapes}): a check on no entries tests nothing")


def prepare(
    group: Group,
    inputs: Any,
    kinds: Any,
    dtype: torch.dtype,
    t: Any,
    kinds_name: str,
    out_kinds: Sequence[Kind] | None = None,
    input_names: Sequence[str] | None = None,
) -> Prepared:
    """Validate ``inputs`` against ``kinds`` and ``group``; cast copies to ``dtype``.

    Raises
    ------
    TypeError
        A non-tensor or non-floating input, or a kind of unsupported type.
    ValueError
        Wrong number of kinds, an unknown kind, a layout that does not fit the
        kind or the group's dimension, inconsistent batch or particle counts,
        or NaN/inf in an input or in ``t``.
    """
    xs = _as_tensors(inputs)
    ks = parse_kinds(kinds, len(xs), kinds_name, "input")
    if input_names is not None:
        names = list(input_names)
    else:
        names = (
            ["inputs"] if isinstance(inputs, Tensor) else [f"inputs[{i}]" for i in range(len(xs))]
        )
    all_names = tuple(names)
    constants = _constants(xs, ks, names)
    if constants:
        keep = [i for i, k in enumerate(ks) if k.name != _CONSTANT]
        if not keep:
            raise ValueError(
                f"every input has kind constant: no group acts on any of them, so the check "
                f"would test nothing ({kinds_name} = {tuple(str(k) for k in ks)})"
            )
        xs = tuple(xs[i] for i in keep)
        ks = tuple(ks[i] for i in keep)
        names = [names[i] for i in keep]
    for i, x in enumerate(xs):
        _check_dtype(x, ks[i], names[i])
        _check_against_group(x, ks[i], group, names[i])
        if x.is_floating_point():
            check_finite(x, names[i])
    batch = int(xs[0].shape[0])
    _check_not_empty(xs, ks, names)
    for i, x in enumerate(xs[1:], start=1):
        if x.shape[0] != batch:
            raise ValueError(
                f"{names[i]} has batch size {x.shape[0]} but {names[0]} has {batch}; all "
                f"inputs need the same leading batch axis B"
            )
    particles = [(x, k, n) for x, k, n in zip(xs, ks, names, strict=True) if k.particle_axis]
    if len({int(x.shape[particle_dim(k)]) for x, k, _ in particles}) > 1:
        shapes = ", ".join(
            f"{n} {format_shape(x.shape)} (axis {particle_dim(k)})" for x, k, n in particles
        )
        raise ValueError(
            f"inputs with a particle axis disagree on the number of particles N: {shapes}"
        )
    config = _config_shape(group, xs, ks, out_kinds or ())
    try:
        group.check_config(config)
    except ValueError as err:
        raise ValueError(
            f"inputs do not fit {group!r} (configuration shape {config}): {err}"
        ) from None
    device = xs[0].device
    cast = tuple(
        x.detach().to(device=device, copy=True)
        if is_integer_kind(k)
        else x.detach().to(dtype=dtype, device=device, copy=True)
        for x, k in zip(xs, ks, strict=True)
    )
    if t is None:
        t_in = next((x for x, k in zip(cast, ks, strict=True) if k == _TIME and x.dim() == 1), None)
        time = None if t_in is None else t_in.clone()
    else:
        time = _prepare_time(t, batch, dtype, device)
    return Prepared(cast, ks, time, config, constants, all_names)


def _check_dtype(x: Any, kind: Kind, name: str) -> None:
    """A tensor of at least one axis whose dtype fits ``kind``.

    Raises
    ------
    TypeError
        Not a tensor; an integer tensor with a floating kind (naming the
        integer kinds); a floating ``index``.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if is_integer_kind(kind):
        if x.is_complex() or (kind.name == "index" and x.is_floating_point()):
            raise TypeError(
                f"{name} of kind {kind} must be an integer tensor of particle indices, got "
                f"dtype {x.dtype}"
            )
    elif not x.is_floating_point():
        raise TypeError(
            f"{name} has dtype {x.dtype} but its kind {kind} needs a floating-point tensor. "
            f"Declare an integer input by what it is: kind 'label' for per-particle types or "
            f"categories (atom types, shape (B, ..., N), permuted with the particles), "
            f"'index' for particle indices (a graph's edge_index, shape (B, 2, E), relabelled "
            f"by permutations), or 'constant' for an unbatched integer tensor no group acts on"
        )
    if x.dim() < 1:
        raise ValueError(
            f"{name} must have at least 1 dimensions, got shape {format_shape(x.shape)}"
        )


def _constants(
    xs: Sequence[Any], ks: Sequence[Kind], names: Sequence[str]
) -> tuple[tuple[int, Tensor], ...]:
    """The inputs of kind ``constant``, validated, with their positions (copies).

    Raises
    ------
    TypeError
        A constant that is not a tensor.
    ValueError
        A floating-point constant.
    """
    found = []
    for i, (x, k) in enumerate(zip(xs, ks, strict=True)):
        if k.name != _CONSTANT:
            continue
        if not isinstance(x, Tensor):
            raise TypeError(f"{names[i]} of kind constant must be a tensor, got {type(x).__name__}")
        check_layout(k, x, names[i])
        found.append((i, x.detach().clone()))
    return tuple(found)


def check_outputs(
    outs: tuple[Tensor, ...],
    out_kinds: tuple[Kind, ...] | None,
    group: Group,
    fn_name: str,
    batch: int,
    names: Sequence[str] | None = None,
) -> None:
    """Check outputs: floating, batched, non-empty, finite, laid out as ``out_kinds`` say.

    Batched means one row per input row: shape ``(B, ...)``.

    Raises
    ------
    TypeError
        A non-floating output.
    ValueError
        An output without the leading batch axis ``B`` of the inputs, an empty
        output (nothing to compare), NaN/inf in an output, a wrong number of
        outputs, or a layout that does not fit its kind.
    """
    names = list(names) if names is not None else output_names(len(outs))
    if out_kinds is not None and len(out_kinds) != len(outs):
        raise ValueError(
            f"out_kinds has {len(out_kinds)} kind(s) but {fn_name} returned {len(outs)} "
            f"output(s); expected one kind per output"
        )
    for i, (y, name) in enumerate(zip(outs, names, strict=True)):
        if not torch.is_floating_point(y):
            raise TypeError(f"{fn_name} output {name} must be floating point, got dtype {y.dtype}")
        if y.dim() == 0 or int(y.shape[0]) != batch:
            raise ValueError(
                f"{fn_name} output {name} has shape {format_shape(y.shape)}; expected one row "
                f"per input row, shape ({batch}, ...) (the inputs have batch size B = {batch}): "
                f"a function that reduces over the batch cannot be checked row by row"
            )
        if y.numel() == 0:
            raise ValueError(
                f"{fn_name} output {name} is empty (shape {format_shape(y.shape)}): there is "
                f"nothing to compare, so the check would test nothing"
            )
        if out_kinds is not None:
            _check_against_group(y, out_kinds[i], group, f"{fn_name} output {name}")
        check_finite(y, f"{fn_name} output {name}")
