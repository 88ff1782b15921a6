"""Private: what the charge ledger records for one symmetry family, step by step.

A :class:`Track` holds the tracked units of one :class:`SymmetryFamily` and
the per-step values the ledger records for them (charges, their scales, the
symmetry residual, the SGD hyperparameters and gradient quantities of the
recursions), all on the parameters' device; :meth:`Track.host` stacks them and
moves them to the CPU once, when a report is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from symnet.learning._recursion import Hyper
from symnet.learning.family import SymmetryFamily
from symnet.learning.symmetry import ParameterSymmetry

__all__ = ["Track", "group_symmetries"]


class Track:
    """The ledger of one family (the units of it that were passed), on the parameters' device."""

    def __init__(self, family: SymmetryFamily, units: list[int]) -> None:
        self.family = family
        self.units = torch.tensor(units, dtype=torch.long)
        self.exact = all(family.members[u].exact for u in units)
        self.signs = family.signs
        self.all_units = units == list(range(len(family)))
        self.observed: list[Tensor] = []
        self.magnitude: list[Tensor] = []
        self.residual: list[Tensor] = []
        self.hypers: list[Hyper] = []
        self.buffers: list[bool] = []
        self.grads: list[Tensor] = []
        self.cross: list[Tensor] = []
        self.reason: str | None = None
        self.start: dict[str, Tensor] = {}

    def to(self, device: torch.device) -> None:
        """Keep the unit index and the signs on ``device`` (moved once, not per step)."""
        self.units, self.signs = self.units.to(device), self.signs.to(device)

    def pick(self, values: Tensor) -> Tensor:
        """``values`` of all units (last axis) -> those tracked, on their device."""
        values = values.detach()
        return values if self.all_units else values[..., self.units]

    def host(self) -> dict[str, Tensor]:
        """Everything recorded, stacked and moved to the CPU (once, at report time)."""
        out = {
            "observed": torch.stack(self.observed),
            "magnitude": torch.stack(self.magnitude),
            **{k: v.double() for k, v in self.start.items()},
        }
        for key in ("residual", "grads", "cross"):
            if getattr(self, key):
                out[key] = torch.stack(getattr(self, key))
        return {k: v.cpu() for k, v in out.items()}


def group_symmetries(symmetries: Iterable[Any]) -> list[Track]:
    """One :class:`Track` per family, of the units of it in ``symmetries``."""
    units: dict[int, tuple[SymmetryFamily, list[int]]] = {}
    for s in symmetries:
        if isinstance(s, SymmetryFamily):
            pairs = [(s, j) for j in range(len(s))]
        elif isinstance(s, ParameterSymmetry):
            pairs = [(s.family, s.unit)]
        else:
            raise TypeError(
                "symmetries must be ParameterSymmetry or SymmetryFamily objects (e.g. the "
                f"result of find_symmetries), got {type(s).__name__}"
            )
        for fam, j in pairs:
            entry = units.setdefault(id(fam), (fam, []))
            if j not in entry[1]:
                entry[1].append(j)
    return [Track(fam, sorted(js)) for fam, js in units.values()]
