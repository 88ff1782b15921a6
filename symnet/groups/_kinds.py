"""Deprecated location of the kinds; use :mod:`symnet.groups.kinds`."""

from symnet.groups.kinds import KIND_NAMES, Kind, _is_irreps, as_kind, check_layout, irreps_kind

__all__ = ["KIND_NAMES", "Kind", "as_kind", "check_layout", "irreps_kind", "_is_irreps"]
