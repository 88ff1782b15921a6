"""Deprecated location of :class:`~symnet.groups.Generator`; use :mod:`symnet.groups.generator`."""

from symnet.groups.generator import Generator

__all__ = ["Generator"]
