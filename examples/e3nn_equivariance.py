"""Check an e3nn point-cloud model with symnet: points in, e3nn irreps out.

An SO(3)-equivariant two-layer e3nn model on a small point cloud: spherical
harmonics of the relative positions, tensor products
(``o3.FullyConnectedTensorProduct``) whose weights come from a radial MLP of
the distances, and an ``e3nn.nn.Gate`` nonlinearity between the two layers.
Its output is a per-particle ``0e + 1o + 2e`` feature (a scalar, a vector
and a traceless symmetric matrix per particle).

symnet's assertions take the output's kind straight from its e3nn
``Irreps``: ``assert_equivariant(model, Translation(3) * Rotation(3) *
Permutation(), x, "point", irreps_kind("0e + 1o + 2e", per_particle=True))``
checks random finite rotations (through e3nn's Wigner D matrices), the Lie
algebra generators (one ``torch.func.jvp`` each), translations and
permutations. The model is built in float64
(``symnet.groups.rotation.default_dtype``) so that e3nn's Clebsch-Gordan
buffers are exact enough for the float64 check. A model declared with the
wrong irreps (the same dimension, another representation) fails.

Run: ``.venv/bin/python examples/e3nn_equivariance.py`` (``SYMNET_EXAMPLE_SMALL=1``
for a smaller cloud).
"""

from __future__ import annotations

import os

import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.nn import FullyConnectedNet, Gate
from torch import Tensor, nn

from symnet.groups import Permutation, Rotation, Translation, irreps_kind
from symnet.groups.rotation import default_dtype
from symnet.testing import assert_equivariant

SMALL = os.environ.get("SYMNET_EXAMPLE_SMALL") == "1"
IRREPS_OUT = "0e + 1o + 2e"


class PointCloudModel(nn.Module):
    """SO(3)-equivariant per-particle features of a point cloud.

    Parameters
    ----------
    irreps_out : str
        Output irreps per particle.
    lmax : int
        Highest degree of the spherical harmonics of relative positions.
    n_basis : int
        Radial basis functions of the distances.
    r_max : float
        Range of the Gaussian radial basis (no cut-off: every pair interacts;
        e3nn's ``smooth_finite`` basis is an ``autograd.Function`` without
        forward-mode AD, which the generator check needs).

    Shapes: points ``(B, N, 3)`` in, ``(B, N, irreps_out.dim)`` out.
    """

    def __init__(
        self, irreps_out: str = IRREPS_OUT, lmax: int = 2, n_basis: int = 8, r_max: float = 4.0
    ) -> None:
        super().__init__()
        self.n_basis, self.r_max = n_basis, r_max
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        act = torch.nn.functional.silu
        self.gate = Gate("8x0e", [act], "8x0e", [torch.sigmoid], "4x1o + 4x2e")
        self.tp1 = o3.FullyConnectedTensorProduct(
            "1x0e", self.irreps_sh, self.gate.irreps_in, shared_weights=False
        )
        self.tp2 = o3.FullyConnectedTensorProduct(
            self.gate.irreps_out, self.irreps_sh, irreps_out, shared_weights=False
        )
        self.radial1 = FullyConnectedNet([n_basis, 16, self.tp1.weight_numel], act)
        self.radial2 = FullyConnectedNet([n_basis, 16, self.tp2.weight_numel], act)

    def forward(self, x: Tensor) -> Tensor:
        """Per-particle irreps ``(B, N, dim)`` of points ``(B, N, 3)``."""
        n = x.shape[-2]
        j = torch.arange(n).expand(n, n)[~torch.eye(n, dtype=torch.bool)].reshape(n, n - 1)
        i = torch.arange(n)[:, None].expand(n, n - 1)
        rel = x[..., j, :] - x[..., i, :]  # (B, N, N - 1, 3): every other particle, from i
        sh = o3.spherical_harmonics(self.irreps_sh, rel, normalize=True, normalization="component")
        dist = (rel * rel).sum(-1).sqrt()  # > 0: distinct particles only
        emb = (
            soft_one_hot_linspace(
                dist, 0.0, self.r_max, self.n_basis, basis="gaussian", cutoff=False
            )
            * self.n_basis**0.5
        )
        ones = x.new_ones(sh.shape[:-1] + (1,))
        h = self.gate(self.tp1(ones, sh, self.radial1(emb)).mean(-2))  # (B, N, gate out)
        return self.tp2(h[..., j, :], sh, self.radial2(emb)).mean(-2)


def main() -> None:
    """Check the model in float64, its pooled output, and the wrong irreps."""
    torch.manual_seed(0)
    n_particles, batch = (5, 2) if SMALL else (8, 4)
    x = 1.5 * torch.randn(batch, n_particles, 3, dtype=torch.float64)
    G = Translation(3) * Rotation(3) * Permutation()

    with default_dtype(torch.float64):  # exact Clebsch-Gordan buffers for the float64 check
        model = PointCloudModel()
    out_kind = irreps_kind(IRREPS_OUT, per_particle=True)
    report = assert_equivariant(model, G, x, "point", out_kind, n_samples=2 if SMALL else 8)
    print(report)

    # A global output: the mean over particles, plain irreps (no particle axis).
    def pooled(x: Tensor) -> Tensor:
        return model(x).mean(-2)

    report = assert_equivariant(
        pooled, Rotation(3), x, "point", IRREPS_OUT, n_samples=2, check_generators=not SMALL
    )
    print(f"\npooled output: max relative error {report.max_error:.1e}, passed={report.passed}")

    # The same model declared with the wrong irreps: same dimension, other representation.
    wrong = irreps_kind("0e + 2e + 1o", per_particle=True)
    try:
        # finite elements suffice to expose it (the generator check fails too, more slowly)
        assert_equivariant(model, G, x, "point", wrong, n_samples=2, check_generators=not SMALL)
    except AssertionError as err:
        print(f"\nwrong irreps (0e + 2e + 1o) rejected as expected:\n  {str(err).splitlines()[0]}")
    else:
        raise SystemExit("the wrong-irreps declaration passed: the check is broken")


if __name__ == "__main__":
    main()
