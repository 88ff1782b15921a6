"""Validation of the options of :mod:`symnet.learning` (shared: :mod:`symnet._validate`)."""

from symnet._validate import flag, float_dtype, integer, real

__all__ = ["real", "integer", "flag", "float_dtype"]
