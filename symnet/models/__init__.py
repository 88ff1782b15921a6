"""Physics models (temporary init)."""
from symnet.models.lnn import LNN, LagrangianView
