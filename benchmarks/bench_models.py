"""LNN training-step throughput: symnet vs torchdyn 1.0.6 (CPU).

One training step = forward (Euler-Lagrange accelerations of the learned
Lagrangian) + L1 loss on the analytic accelerations + backward, at batch 256
on double-pendulum states (m = l = 1, g = 9.8; angles ~ U[0, 2 pi),
velocities ~ U[-10, 10]), float32, the same softplus MLP (4 -> H x 3 -> 1,
identical weights) on both sides:

- symnet: :class:`symnet.models.LNN` (``symnet.mechanics.lagrangian_vector_field``:
  torch.func, vmapped over the batch, checked solve);
- torchdyn: ``torchdyn.models.LNN`` as intended: ``LNN(net)(x)`` on ``x = (q,
  qdot)`` returns ``(qdot, qddot)`` (it loops over the batch with
  ``torch.autograd.functional`` Jacobians and Hessians and a pseudo-inverse).

Both outputs are compared (in float64) before timing. Time: median of ``--repeats`` steps
after one warm-up step, one library after the other in the same process.

Run: ``.venv/bin/python benchmarks/bench_models.py [--hidden 128] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable

import torch
from torchdyn.models import LNN as TorchdynLNN  # noqa: N811

from symnet.models import LNN, MLP
from symnet.systems import DoublePendulum


def _median_time(step: Callable[[], None], repeats: int) -> tuple[float, float]:
    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), (max(times) - min(times)) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--peer-repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
        f"MLP 4 -> {args.hidden}x3 softplus -> 1, float32, seed 0"
    )

    system = DoublePendulum()
    q, qdot = system.sample_states(args.batch, torch.Generator().manual_seed(0))
    target = system.acceleration(q, qdot).float()
    q, qdot = q.float(), qdot.float()
    x = torch.cat([q, qdot], -1)

    net = MLP(4, 1, args.hidden, 3, "softplus")
    ours = LNN(config_shape=(2,), hidden=args.hidden, layers=3)
    ours.net.load_state_dict(net.state_dict())
    peer = TorchdynLNN(net)

    # same dynamics: compared in float64 (float32 differs by the conditioning of M)
    ours64, peer64 = copy.deepcopy(ours).double(), TorchdynLNN(copy.deepcopy(net).double())
    with torch.no_grad():
        a_ours = ours64(q.double(), qdot.double())
    a_peer = peer64(x.double())[:, 2:].detach()
    diff = float((a_ours - a_peer).abs().max() / a_peer.abs().max())
    print(f"same accelerations (float64): max relative difference {diff:.1e}")
    assert diff < 1e-8, "the two LNNs disagree"

    def step_ours() -> None:
        ours.zero_grad(set_to_none=True)
        (ours(q, qdot) - target).abs().mean().backward()

    def step_peer() -> None:
        net.zero_grad(set_to_none=True)
        (peer(x.clone())[:, 2:] - target).abs().mean().backward()

    t_ours, s_ours = _median_time(step_ours, args.repeats)
    t_peer, s_peer = _median_time(step_peer, args.peer_repeats)
    print(f"\n{'':<10} {'ms / step':>12} {'samples / s':>12}")
    for name, t, s in (("symnet", t_ours, s_ours), ("torchdyn", t_peer, s_peer)):
        print(f"{name:<10} {1e3 * t:>8.1f} +- {1e3 * s:<5.1f} {args.batch / t:>9.0f}")
    print(f"\nsymnet is {t_peer / t_ours:.0f}x faster per training step (target: >= 30x)")


if __name__ == "__main__":
    main()
