r"""Vacuous checks: outputs that do not depend on the inputs, so their rows cannot fail.

Private module. An output ``y_j`` makes a *vacuous* check when it does not
vary with the inputs: a constant output passes every invariance row, and a
zero output passes every equivariance row (``g . 0 = 0``) and every Lie
derivative row, whatever the model does. Precisely, ``y_j`` is vacuous when

* no tested group element changed it by more than 1e-6 relative:
  ``max|fn(g.x)_j - y_j| <= 1e-6 max(max|fn(g.x)_j|, max|y_j|)`` for every
  finite element ``g`` (a larger change settles that ``y_j`` varies), and
* a random perturbation of every floating input does not change it either:
  ``x_i' = x_i + 0.1 rms(x_i) z_i`` (``z_i`` Gaussian from the check's
  ``rng``; ``0.1 z_i`` when ``x_i`` is all zero; integer inputs unchanged),
  ``max|fn(x')_j - y_j| <= 1000 eps max(max|fn(x')_j|, max|y_j|)`` (``eps``
  the machine epsilon of the check's dtype: round-off only).

The perturbation is what keeps a genuinely invariant model from a false
alarm: its outputs do not change under the group (its Lie derivatives are 0)
but do change when the inputs move in other directions. The extra call is
made only for outputs that no group element changed. A vacuous output that
is 0 at both points is reported as "identically 0" (the usual cause is a
zero-initialised output layer, e.g. PyG DimeNet++'s default
``output_initializer='zeros'``), any other as "constant".
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from symnet.testing._calls import Caller
from symnet.testing._inputs import Prepared

__all__ = ["vacuous_reason"]

_ZERO_FIX = (
    "re-initialise the output layer before testing (a zero-initialised last layer, such as "
    "PyG DimeNet++'s default output_initializer='zeros', outputs 0 until trained: pass "
    "output_initializer='glorot_orthogonal' or re-initialise its weights), or load trained "
    "weights"
)
_CONSTANT_FIX = (
    "the function ignores its inputs (a zeroed or saturated layer, a detached input, a cutoff "
    "shorter than every distance); test it at inputs and weights where the outputs depend on "
    "the inputs"
)


def _amax(x: Tensor) -> float:
    return float(x.detach().abs().max()) if x.numel() else 0.0


def _perturbed(prep: Prepared, rng: torch.Generator) -> tuple[Tensor, ...]:
    out = []
    for x, fixed in zip(prep.inputs, prep.fixed, strict=True):
        if fixed or not x.is_floating_point():
            out.append(x)
            continue
        rms = float(x.pow(2).mean().sqrt()) if x.numel() else 0.0
        z = torch.randn(x.shape, generator=rng, dtype=x.dtype).to(x.device)
        out.append(x + 0.1 * (rms if rms > 0 else 1.0) * z)
    return tuple(out)


def vacuous_reason(
    call: Caller,
    prep: Prepared,
    y0: Sequence[Tensor],
    varied: Sequence[bool],
    rng: torch.Generator,
    names: Sequence[str],
) -> str:
    """Why the check is vacuous (which outputs, and the fix), or ``""`` when it is not.

    Parameters
    ----------
    call : Caller
        ``fn`` of the batched inputs.
    prep : Prepared
        The check's inputs.
    y0 : sequence of Tensor
        ``fn`` at the inputs.
    varied : sequence of bool
        Per output: some group element already changed it (no extra call).
    rng : torch.Generator
        Source of the perturbation.
    names : sequence of str
        Output names for the message.
    """
    todo = [j for j, v in enumerate(varied) if not v]
    if not todo:
        return ""
    if all(fixed for fixed in prep.fixed):
        y1 = y0  # nothing floating to perturb: only an output that is 0 can be judged
    else:
        y1 = call(*_perturbed(prep, rng))
    zero, constant = [], []
    for j in todo:
        a, b = y0[j].detach(), y1[j].detach()
        if a.shape != b.shape:
            continue
        size = max(_amax(a), _amax(b))
        if _amax(a - b) > 1000 * torch.finfo(a.dtype).eps * size:
            continue
        if size == 0.0:
            zero.append(names[j])
        elif y1 is not y0:
            constant.append(names[j])
    parts = []
    if zero:
        parts.append(
            f"{', '.join(zero)} {'is' if len(zero) == 1 else 'are'} identically 0 (at the inputs "
            f"and at a random perturbation of them), so every row passes whatever the symmetry: "
            f"{_ZERO_FIX}"
        )
    if constant:
        parts.append(
            f"{', '.join(constant)} {'does' if len(constant) == 1 else 'do'} not change when "
            f"the inputs are perturbed or moved by the group, so every row passes whatever the "
            f"symmetry: {_CONSTANT_FIX}"
        )
    return "; ".join(parts)
