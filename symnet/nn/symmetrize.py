"""Wrappers that make any model invariant or equivariant.

Each wrapper takes a model and the kinds of its inputs and outputs (symnet's
``point``, ``vector``, ``scalar``, ``global``; see :mod:`symnet.groups`). With
``out_kinds=None`` the wrapper is *invariant*: outputs are averaged as they
are. Otherwise outputs are transformed back (the *equivariant* version).

=================  ====================================  ======================
wrapper            symmetry                              forward passes per call
=================  ====================================  ======================
``Centered``       translations                          1
``GroupAveraged``  a finite group (all of S_N, or the    ``|G|`` (one batched
                   subgroup spanned by given elements)   call of ``|G| B`` rows)
``FrameAveraged``  rotations (and translations) via      ``2^(d-1)``: 4 for
                   PCA frames                            SO(3); ``2^d`` for O(d)
=================  ====================================  ======================

Group averaging (the Reynolds operator) ``f(x) = 1/|G| sum_g g^-1 f(g x)`` is
exact for any finite group. Frame averaging replaces the group by a small
input-dependent set of frames ``F(x)`` with ``F(g x) = g F(x)`` (Puny et al.
2022): for a point cloud, the principal axes of its covariance, up to the
signs of the axes.

One module per wrapper: :mod:`symnet.nn.centered`, :mod:`symnet.nn.group_averaged`
and :mod:`symnet.nn.frame_averaged`; this module gathers them.

References
----------
O. Puny, M. Atzmon, H. Ben-Hamu, I. Misra, A. Grover, E. J. Smith, Y. Lipman,
"Frame averaging for invariant and equivariant network design", ICLR 2022.
"""

from __future__ import annotations

from symnet.nn._wrapper import _as_tuple as _as_tuple
from symnet.nn._wrapper import _check_count as _check_count
from symnet.nn._wrapper import _check_dim as _check_dim
from symnet.nn._wrapper import _kinds as _kinds
from symnet.nn._wrapper import _kinds_repr as _kinds_repr
from symnet.nn._wrapper import _Wrapper as _Wrapper
from symnet.nn.centered import Centered
from symnet.nn.centered import _check_point_output as _check_point_output
from symnet.nn.frame_averaged import FrameAveraged
from symnet.nn.frame_averaged import _sign_patterns as _sign_patterns
from symnet.nn.group_averaged import MAX_ENUMERATED as MAX_ENUMERATED
from symnet.nn.group_averaged import GroupAveraged
from symnet.nn.group_averaged import all_permutations as all_permutations

__all__ = ["Centered", "GroupAveraged", "FrameAveraged"]
