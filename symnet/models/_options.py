"""Validation of the options of :mod:`symnet.models` (scalars: :mod:`symnet._validate`).

Private module. Integers are anything with ``operator.index`` (Python, numpy
and 0-d integer torch tensors) except bools; reals are finite numbers (not
bools, not strings); flags are ``bool`` or ``numpy.bool_``. Every helper
returns a plain Python value, so that what is stored (model configs,
checkpoints) holds only plain types.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from symnet._validate import choice, flag, integer, optional_integer, optional_real, real

__all__ = [
    "integer",
    "optional_integer",
    "real",
    "optional_real",
    "flag",
    "choice",
    "module_dtype",
    "check_input_dtype",
]


def module_dtype(module: nn.Module) -> torch.dtype | None:
    """The dtype of the first floating parameter or buffer of ``module`` (None without any)."""
    for t in module.parameters():
        if torch.is_floating_point(t):
            return t.dtype
    for t in module.buffers():
        if torch.is_floating_point(t):
            return t.dtype
    return None


def check_input_dtype(model: nn.Module, *tensors: tuple[str, Any]) -> None:
    """A TypeError saying how to fix it when floating inputs differ from ``model``'s dtype.

    Parameters
    ----------
    model : nn.Module
    tensors : (name, value) pairs
        Non-tensors and non-floating tensors are skipped.
    """
    dtype = module_dtype(model)
    if dtype is None:
        return
    for name, x in tensors:
        if isinstance(x, Tensor) and torch.is_floating_point(x) and x.dtype != dtype:
            model_name = type(model).__name__
            method = {torch.float64: "double", torch.float32: "float", torch.float16: "half"}
            fix_model = (
                f"model.{method[x.dtype]}()" if x.dtype in method else f"model.to({x.dtype})"
            )
            raise TypeError(
                f"{model_name}: {name} is {x.dtype} but the model's parameters are {dtype}: "
                f"the dtypes must agree. Cast the inputs ({name}.to({dtype})) or a copy of "
                f"the model (copy.deepcopy(model).to({x.dtype}), or {fix_model} in place)"
            )
