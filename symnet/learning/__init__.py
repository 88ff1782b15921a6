"""Learning dynamics: parameter-space symmetries of losses and their charges under training.

Network architectures give losses continuous symmetries in parameter space:
softmax logits are unchanged by a common shift (translation), weights that
feed a normalization by a rescaling (scale), and a positively homogeneous
unit by moving a factor from its incoming to its outgoing weights (rescale).
Each has a charge that gradient flow conserves, and that SGD with weight
decay and momentum changes by an exact, predictable amount (Kunin et al.,
"Neural Mechanics: Symmetry and Broken Conservation Laws in Deep Learning
Dynamics", ICLR 2021); adaptive optimizers break the laws (Tanaka and Kunin,
"Noether's Learning Dynamics", NeurIPS 2021).

- :func:`find_symmetries` proposes symmetries from the model's structure and
  confirms each by its Lie derivative (one ``torch.func.jvp``, float64);
- :func:`check_training` trains a copy and compares every charge with the
  optimizer's exact recursion; :class:`ChargeLedger` does the same inside a
  training loop of your own.
"""

from __future__ import annotations

from symnet.learning.family import ParamSlice, SymmetryFamily
from symnet.learning.find import SymmetrySet, find_symmetries
from symnet.learning.ledger import ChargeLedger
from symnet.learning.report import LearningReport, LedgerRow
from symnet.learning.symmetry import CHARGE_FORMULAS, KINDS, ParameterSymmetry
from symnet.learning.train import check_training

__all__ = [
    "CHARGE_FORMULAS",
    "KINDS",
    "ChargeLedger",
    "LearningReport",
    "LedgerRow",
    "ParamSlice",
    "ParameterSymmetry",
    "SymmetryFamily",
    "SymmetrySet",
    "check_training",
    "find_symmetries",
]
