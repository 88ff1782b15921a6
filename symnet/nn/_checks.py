"""Input checks shared by the layers: dtypes named with their remedy, model calls explained.

Private module. The checks look at dtypes and shapes only (no pass over the
data, no host synchronisation), so they cost nothing measurable per forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from symnet._util import format_shape

__all__ = [
    "as_method",
    "call_model",
    "check_input",
    "check_rows",
    "check_same_dtype",
    "output_names",
]

_METHODS = {
    torch.float64: ".double()",
    torch.float32: ".float()",
    torch.float16: ".half()",
    torch.bfloat16: ".bfloat16()",
}


def as_method(dtype: torch.dtype) -> str:
    """The tensor/module method that casts to ``dtype``: ``.double()``, ``.to(torch.int8)``."""
    return _METHODS.get(dtype, f".to({dtype})")


def check_input(x: Any, name: str, like: Tensor, owner: str) -> None:
    """Check that ``x`` is a floating tensor in the dtype of the layer's parameter ``like``.

    Raises
    ------
    TypeError
        ``x`` is not a tensor, not floating point, or not in ``like.dtype``;
        the message names ``x``, both dtypes and both remedies (cast the
        input, or cast the layer).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{name} must be a floating-point tensor in {owner}'s dtype {like.dtype}, got dtype "
            f"{x.dtype}; cast it with {name}{as_method(like.dtype)}"
        )
    if x.dtype != like.dtype:
        raise TypeError(
            f"{name} is {x.dtype} but {owner}'s parameters are {like.dtype}: cast the input "
            f"({name}{as_method(like.dtype)}) or the layer (layer{as_method(x.dtype)})"
        )


def check_same_dtype(x: Tensor, name: str, ref: Tensor, ref_name: str) -> None:
    """Check that ``x`` has the dtype of ``ref`` (two inputs of a parameter-free layer).

    Raises
    ------
    TypeError
        The dtypes differ; the message names both inputs and the remedy.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype != ref.dtype:
        raise TypeError(
            f"{name} is {x.dtype} but {ref_name} is {ref.dtype}: pass both in one dtype "
            f"({name}{as_method(ref.dtype)})"
        )


def output_names(n: int) -> list[str]:
    """``["out"]`` for one output, ``["out[0]", "out[1]", ...]`` otherwise."""
    return ["out"] if n == 1 else [f"out[{i}]" for i in range(n)]


def _model_dtype(model: Callable[..., Any]) -> torch.dtype | None:
    module = model if isinstance(model, nn.Module) else getattr(model, "__self__", None)
    if not isinstance(module, nn.Module):
        return None
    for t in (*module.parameters(), *module.buffers()):
        if torch.is_floating_point(t):
            return t.dtype
    return None


def call_model(model: Callable[..., Any], xs: Sequence[Tensor]) -> Any:
    """``model(*xs)``; a dtype error of the model is re-raised naming both dtypes and the fix.

    Raises
    ------
    TypeError
        The model failed with torch's dtype-mismatch wording (its parameters,
        or tensors it holds, have another dtype than the inputs).
    """
    try:
        return model(*xs)
    except RuntimeError as err:
        text = str(err).lower()
        if "dtype" not in text and not ("double" in text and "float" in text):
            raise
        dtype = next((x.dtype for x in xs if torch.is_floating_point(x)), xs[0].dtype)
        held = _model_dtype(model)
        if held is not None and held != dtype:
            fix = (
                f"its parameters are {held}: cast the inputs (x{as_method(held)}) or the model "
                f"(model{as_method(dtype)})"
            )
        else:
            fix = "it holds tensors of another dtype: cast them or the inputs to one dtype"
        raise TypeError(f"the model failed on inputs of dtype {dtype}; {fix} ({err})") from err


def check_rows(outs: Sequence[Tensor], rows: int, owner: str, why: str) -> None:
    """Each output must have ``rows`` rows (one per row the model was called on).

    Raises
    ------
    ValueError
        An output without that leading axis, naming it, its shape and ``why``.
    """
    for name, y in zip(output_names(len(outs)), outs, strict=True):
        if y.dim() == 0 or int(y.shape[0]) != rows:
            raise ValueError(
                f"model output {name} has shape {format_shape(y.shape)}; {owner} {why} and "
                f"needs outputs of shape ({rows}, ...), one row per input row"
            )
