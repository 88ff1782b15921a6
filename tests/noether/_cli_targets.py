"""Objects that ``symnet check`` loads in tests/noether/test_cli.py."""

from __future__ import annotations

from symnet.systems import TwoBodySpring

SPRING_2D = TwoBodySpring(m1=1.0, m2=3.0, dim=2)
NUMBER = 3


def harmonic_pair(q, qdot):
    """Two unit masses joined by a zero-length spring, ``q, qdot`` of shape ``(B, 2, d)``."""
    d = q[:, 0] - q[:, 1]
    return 0.5 * (qdot**2).sum((-1, -2)) - 0.5 * (d**2).sum(-1)


# Galilean invariant with unequal masses: a boost by name must use m = (1, 2).
SPRING_UNEQUAL = TwoBodySpring(m1=1.0, m2=2.0, k=3.0)


def unequal_pair(q, qdot):
    """Masses 1 and 2 joined by a zero-length spring, ``q, qdot`` of shape ``(B, 2, d)``."""
    d = q[:, 0] - q[:, 1]
    kinetic = 0.5 * (qdot[:, 0] ** 2).sum(-1) + (qdot[:, 1] ** 2).sum(-1)
    return kinetic - 1.5 * (d**2).sum(-1)
