"""Deprecated location of :class:`~symnet.groups.Group`; use :mod:`symnet.groups.group`."""

from symnet.groups.group import Element, Group, take_element

__all__ = ["Element", "Group", "take_element"]
