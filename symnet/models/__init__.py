"""Physics models: Lagrangian and Hamiltonian networks, their training and their metrics.

- :class:`LNN`: a learned Lagrangian (Cranmer et al. 2020), unstructured or
  with a positive-definite mass matrix (``structured=True``);
- :class:`HNN`: a learned Hamiltonian (Greydanus et al. 2019);
- :class:`PortHNN`: a learned Hamiltonian with learned dissipation and
  forcing (Desai et al. 2021);
- :class:`Baseline`: an unconstrained MLP of the state;
- :class:`SymmetricLNN`, :class:`SymmetricHNN`: invariant under
  translations, rotations and permutations of identical particles by
  construction, so that momentum and angular momentum are conserved;
- :func:`train`: seeded training on accelerations, time derivatives or
  rollouts, with validation, early stopping and checkpoints; its options are
  grouped in :class:`Optimization`, :class:`Stopping`, :class:`Checkpointing`
  and :class:`Rollout` (:mod:`symnet.models.options`);
- :mod:`symnet.models.metrics`: energy drift, state error, chaos floor.

Examples
--------
>>> import torch
>>> import symnet.models as sm
>>> from symnet.systems import MassSpring
>>> data = MassSpring().hnn_dataset(n_traj=8, rng=0)
>>> model = sm.HNN(config_shape=(1,), hidden=32)
>>> history = sm.train(model, data, steps=50, batch_size=None, progress=False)
>>> history.train_loss[-1] < history.train_loss[0]
True
"""

from __future__ import annotations

from symnet.models import metrics
from symnet.models.baseline import Baseline
from symnet.models.checkpoint import Checkpoint, load_checkpoint
from symnet.models.hnn import HNN, HamiltonianView
from symnet.models.lnn import LNN, LagrangianView
from symnet.models.metrics import EnergyDrift, chaos_floor, energy_drift, simulate, state_error
from symnet.models.mlp import ACTIVATIONS, MLP
from symnet.models.model import PhysicsModel
from symnet.models.options import Checkpointing, Optimization, Rollout, Stopping
from symnet.models.port_hnn import PortHNN
from symnet.models.symmetric import InvariantPotential, SymmetricHNN, SymmetricLNN
from symnet.models.training import History, train

__all__ = [
    "ACTIVATIONS",
    "Baseline",
    "Checkpoint",
    "Checkpointing",
    "EnergyDrift",
    "HNN",
    "HamiltonianView",
    "History",
    "InvariantPotential",
    "LNN",
    "LagrangianView",
    "MLP",
    "Optimization",
    "PhysicsModel",
    "PortHNN",
    "Rollout",
    "Stopping",
    "SymmetricHNN",
    "SymmetricLNN",
    "chaos_floor",
    "energy_drift",
    "load_checkpoint",
    "metrics",
    "simulate",
    "state_error",
    "train",
]
