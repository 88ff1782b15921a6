"""Parameter-space symmetries of a loss: slices, families and single generators.

A symmetry of a loss ``L(theta)`` is a vector field ``xi(theta)`` on parameter
space along which ``L`` does not change: ``<grad L, xi> = 0`` for every batch.
Three kinds arise from the structure of a network (Kunin et al., "Neural
Mechanics: Symmetry and Broken Conservation Laws in Deep Learning Dynamics",
ICLR 2021):

=============  ===============================  ==============================
kind           generator ``xi``                 charge (conserved by grad flow)
=============  ===============================  ==============================
translation    ``1`` on the slice ``A``          ``<theta_A, 1>``
scale          ``theta_A``                      ``|theta_A|^2``
rescale        ``(theta_A1, -theta_A2)``        ``|theta_A1|^2 - |theta_A2|^2``
=============  ===============================  ==============================

A :class:`ParameterSymmetry` is one unit's symmetry within a
:class:`~symnet.learning.SymmetryFamily` (see ``symnet.learning.family``),
with its generator ``xi(params)``, its charge and its Lie derivative (one
``torch.func.jvp``, as for every :class:`~symnet.groups.Generator`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from symnet._deprecation import MISSING
from symnet._rng import RNG

if TYPE_CHECKING:
    from symnet.learning.family import SymmetryFamily

__all__ = ["KINDS", "CHARGE_FORMULAS", "QUADRATIC", "ParameterSymmetry"]

KINDS = ("translation", "scale", "rescale")
#: Whether a kind's generator is linear in the parameters (``xi = theta`` on its slices:
#: scale, rescale; a quadratic charge) or constant (``xi = 1``: translation; a linear charge).
QUADRATIC = {"translation": False, "scale": True, "rescale": True}
CHARGE_FORMULAS = {
    "translation": "<theta_A, 1>",
    "scale": "|theta_A|^2",
    "rescale": "|theta_A1|^2 - |theta_A2|^2",
}


class ParameterSymmetry:
    """One parameter-space symmetry: unit ``unit`` of a :class:`SymmetryFamily`.

    Attributes
    ----------
    family : SymmetryFamily
    unit : int
    residual : float or None
        Relative Lie derivative ``|<grad L, xi>| / (|grad L| |xi|)`` measured
        by :func:`~symnet.learning.find_symmetries` (None if not measured).
    confirmed : bool or None
        Whether the numerical check confirmed it (None if not checked).
    exact : bool
        False when the symmetry holds only with the normalization's ``eps``
        set to zero (it is then broken at the size of ``eps / var``).
    note : str
        Why a candidate was rejected, or what makes it approximate.
    """

    def __init__(self, family: SymmetryFamily, unit: int) -> None:
        self.family = family
        self.unit = int(unit)
        self.residual: float | None = None
        self.confirmed: bool | None = None
        self.exact = True
        self.note = ""

    @property
    def kind(self) -> str:
        """``"translation"``, ``"scale"`` or ``"rescale"``."""
        return self.family.kind

    @property
    def slices(self) -> list[str]:
        """Readable slices, ``A`` (or ``A1``) first then ``A2``."""
        return [p.label(self.unit, len(self.family.shapes[p.param])) for p in self.family.parts]

    @property
    def name(self) -> str:
        """E.g. ``rescale: fc1.weight[3,:], fc1.bias[3] / fc2.weight[:,3]``."""
        labels = self.slices
        a1 = [s for s, p in zip(labels, self.family.parts, strict=True) if p.sign > 0]
        a2 = [s for s, p in zip(labels, self.family.parts, strict=True) if p.sign < 0]
        text = f"{self.kind}: {', '.join(a1)}"
        return text + (f" / {', '.join(a2)}" if a2 else "")

    def __repr__(self) -> str:
        return f"ParameterSymmetry({self.name!r})"

    def xi(self, params: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """The generator at ``params``: parameter name -> tangent of that parameter's shape.

        Parameters
        ----------
        params : mapping of str to Tensor
            At least the parameters this symmetry acts on (e.g.
            ``dict(model.named_parameters())``).

        Returns
        -------
        dict of str to Tensor
            One tangent per parameter acted on, zero outside the unit's
            slice: ``1`` (translation), ``theta`` (scale), ``+theta`` on
            ``A1`` and ``-theta`` on ``A2`` (rescale).
        """
        out: dict[str, Tensor] = {}
        for name, mask in self.masks().items():
            theta = params[name].detach()
            mask = mask.to(dtype=theta.dtype, device=theta.device)
            out[name] = mask * theta if QUADRATIC[self.kind] else mask
        return out

    def masks(self) -> dict[str, Tensor]:
        """Signed masks of the unit's slices: parameter name -> float64 tensor of its shape.

        1 on ``A`` (``A1``), -1 on ``A2``, 0 elsewhere; ``xi = mask`` for a
        translation and ``xi = mask * theta`` for scale and rescale.
        """
        out: dict[str, Tensor] = {}
        for p in self.family.parts:
            shape = self.family.shapes[p.param]
            m = out.get(p.param)
            if m is None:
                m = out[p.param] = torch.zeros(shape, dtype=torch.float64)
            m[p.index(self.unit, len(shape))] = float(p.sign)
        return out

    def charge(self, params: Mapping[str, Tensor]) -> Tensor:
        """The charge at ``params`` as a float64 scalar tensor."""
        return self.family.charges(params)[self.unit]

    def lie_derivative(
        self,
        model: nn.Module,
        loss_fn: Any,
        batch: Any,
        *,
        dtype: torch.dtype = torch.float64,
        rng: RNG = None,
        seed: Any = MISSING,
    ) -> float:
        """Relative Lie derivative of the loss along this symmetry on ``batch``.

        ``|dL/deps| / (|grad L| |xi|)``, with ``dL/deps`` from one
        ``torch.func.jvp`` through ``functional_call(model, params, inputs)``
        on a ``dtype`` copy of the model (the user's model is not modified).

        Parameters
        ----------
        model : nn.Module
        loss_fn : callable
            ``loss_fn(outputs, targets)`` returning a scalar.
        batch : tuple
            ``(inputs, targets)``; see :func:`~symnet.learning.find_symmetries`.
        dtype : torch.dtype
            Precision of the check.
        rng : int or torch.Generator, optional
            Seed for stochastic layers (dropout), the same for every
            evaluation (a generator gives it in one draw); default 0.
            ``seed=`` is its deprecated name.

        Returns
        -------
        float
            Round-off level (about 1e-16 in float64) for an exact symmetry.

        Raises
        ------
        ValueError
            The loss is not a finite scalar, or its gradient misses part of
            its value (computed under ``torch.no_grad()`` or on detached
            outputs; checked against finite differences of the loss).
        TypeError
            A bad ``dtype`` or ``rng``.
        """
        from symnet.learning._functional import LossProbe
        from symnet.learning._options import seed_from

        seed = seed_from(rng, seed, where="ParameterSymmetry.lie_derivative")
        probe = LossProbe(model, loss_fn, batch, dtype=dtype, seed=seed)
        probe.loss(probe.params)
        probe.check_gradient()  # a loss without gradients would make every symmetry exact
        return probe.relative_lie_derivative(self)

    def as_generator(self, model: nn.Module) -> Any:
        """The symmetry as a :class:`symnet.groups.Generator` on flat parameter vectors.

        The configuration is ``q`` of shape ``(B, D)``, one row per parameter
        vector in the order of ``torch.nn.utils.parameters_to_vector(model.parameters())``.
        """
        from symnet.groups import Generator

        names = [n for n, _ in model.named_parameters()]
        missing = [p for p in self.family.params if p not in names]
        if missing:
            raise ValueError(f"{self.name!r} acts on parameters the model lacks: {missing}")
        masks = self.masks()
        flat = [
            masks[n].reshape(-1) if n in masks else torch.zeros(p.numel(), dtype=torch.float64)
            for n, p in model.named_parameters()
        ]
        mask = torch.cat(flat)
        if QUADRATIC[self.kind]:
            return Generator(self.name, lambda q: q * mask.to(q))
        return Generator(self.name, lambda q: mask.to(q).expand_as(q).clone())
