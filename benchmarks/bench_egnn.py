"""EGNN forward + backward: symnet vs egnn-pytorch 0.2.8, time and peak memory (CPU).

Dense layer at B = 32, N = 64, d = 3, 64 features, 64-dim messages, float32:

- ``matched``: the same MLP widths on both sides (egnn-pytorch's fixed ratios:
  edge MLP 129 -> 258 -> 64, coordinate MLP 64 -> 256 -> 1, node MLP 128 -> 128
  -> 64; symnet's ``edge_hidden=258, coord_hidden=256, node_hidden=128``), so
  both have the same parameter shapes and the same per-pair work as written;
- ``default``: each library's own layer at "hidden 64" (symnet's paper widths,
  64 everywhere; egnn-pytorch as above);

each without and with a padding mask. Then :class:`symnet.nn.EGNNConv` on a
10,000-node radius graph, next to egnn-pytorch's ``EGNN_Sparse`` (its
edge MLP as wide as ``matched``; it sums its input's first layer per edge).

Time: median of ``--repeats`` forward+backward passes after a warm-up, both
libraries in the same process on the same inputs, their calls alternating;
the ratio is the median of the per-round ratios (robust to drifts of the
machine's load).

Peak memory: the peak resident set size of the process during one
forward+backward, minus the resident size just before it. Linux resets the
peak (``VmHWM``) when ``5`` is written to ``/proc/self/clear_refs``; freed heap
memory is returned to the system first (``malloc_trim``) so that neither run
reuses memory the other left behind; median of 2. This counts what the CPU
allocator actually touched (activations, gradients, workspace), unlike
``tracemalloc``, which sees only Python objects. Also printed: the bytes of
the tensors autograd saves for the backward pass (unique storages, through
``torch.autograd.graph.saved_tensors_hooks``), a deterministic proxy.

Run: ``.venv/bin/python benchmarks/bench_egnn.py [--threads 1] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import statistics
import time
from collections.abc import Callable

import egnn_pytorch
import torch
from egnn_pytorch import EGNN_Sparse

from symnet.nn import EGNNConv, EGNNLayer, radius_graph

B, N, D, F, H = 32, 64, 3, 64, 64

try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc: peak memory is then less exact
    _LIBC = None


# ------------------------------------------------------------------ measuring
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peak_memory_mb(fn: Callable[[], None], runs: int = 2) -> float:
    """Median over ``runs`` of (peak RSS during ``fn()``) - (RSS before), in MiB."""
    deltas = []
    for _ in range(runs):
        gc.collect()
        if _LIBC is not None:
            _LIBC.malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kb("VmRSS")
        fn()
        deltas.append((_status_kb("VmHWM") - before) / 1024)
    return statistics.median(deltas)


def saved_mb(fn: Callable[[], torch.Tensor]) -> float:
    """MiB of the unique storages autograd saves for backward during ``fn()``."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        st = t.untyped_storage()
        seen[st.data_ptr()] = st.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    del out
    return sum(seen.values()) / 2**20


def median_ms(fn: Callable[[], None], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def interleaved_ms(fns: list[Callable[[], None]], repeats: int) -> tuple[list[float], list[float]]:
    """Median times (ms) of ``fns`` run in turn, and median ratios ``fns[k] / fns[-1]``.

    Alternating the calls and taking the median of the per-round ratios
    cancels slow drifts of the machine's load, which would bias medians of
    separate runs.
    """
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    last = times[-1]
    ratios = [statistics.median(a / b for a, b in zip(t, last, strict=True)) for t in times[:-1]]
    return [1e3 * statistics.median(t) for t in times], ratios


# -------------------------------------------------------------------- models
def symnet_layer(widths: str) -> EGNNLayer:
    if widths == "matched":
        return EGNNLayer(F, H, edge_hidden=2 * (2 * F + 1), coord_hidden=4 * H, node_hidden=2 * F)
    return EGNNLayer(F, H)


def loss_of(out: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return out[0].square().mean() + out[1].square().mean()


def dense_rows(repeats: int) -> list[tuple[str, ...]]:
    g = torch.Generator().manual_seed(0)
    h = torch.randn(B, N, F, generator=g)
    x = torch.randn(B, N, D, generator=g)
    mask = torch.rand(B, N, generator=g) < 0.8
    peer = egnn_pytorch.EGNN(dim=F, m_dim=H)
    rows = []
    for widths in ("matched", "default"):
        ours = symnet_layer(widths)
        for masked in (False, True):
            m = mask if masked else None

            def run_ours(m: torch.Tensor | None = m, ours: EGNNLayer = ours) -> torch.Tensor:
                return loss_of(ours(h, x, mask=m))

            def run_peer(m: torch.Tensor | None = m) -> torch.Tensor:
                return loss_of(peer(h, x, mask=m))

            steps = []
            for run, model in ((run_ours, ours), (run_peer, peer)):

                def step(run: Callable[[], torch.Tensor] = run, model=model) -> None:
                    model.zero_grad(set_to_none=True)
                    run().backward()

                steps.append(step)
            (t_o, t_p), (ratio,) = interleaved_ms(steps, repeats)
            m_o, m_p = peak_memory_mb(steps[0]), peak_memory_mb(steps[1])
            s_o, s_p = saved_mb(run_ours), saved_mb(run_peer)
            rows.append(
                (
                    f"{widths}{' +mask' if masked else ''}",
                    f"{t_o:.0f}",
                    f"{t_p:.0f}",
                    f"{ratio:.2f}",
                    f"{m_o:.0f}",
                    f"{m_p:.0f}",
                    f"{m_o / m_p:.2f}",
                    f"{s_o:.0f}",
                    f"{s_p:.0f}",
                )
            )
            print("  done:", rows[-1][0], flush=True)
    return rows


def conv_rows(nodes: int, repeats: int) -> list[tuple[str, ...]]:
    g = torch.Generator().manual_seed(1)
    side = (nodes / 10.0) ** (1 / 3)  # density 10 per unit volume
    pos = side * torch.rand(nodes, D, generator=g)
    feats = torch.randn(nodes, F, generator=g)
    t0 = time.perf_counter()
    edge_index = radius_graph(pos, r=1.0)
    t_graph = 1e3 * (time.perf_counter() - t0)
    n_edges = edge_index.shape[1]
    print(
        f"radius graph: {nodes} nodes, r = 1.0, {n_edges} edges "
        f"({n_edges / nodes:.1f} per node), built in {t_graph:.0f} ms"
    )
    names, steps = [], []
    for widths in ("matched", "default"):
        conv = EGNNConv.from_layer(symnet_layer(widths), share=False)

        def step(conv: EGNNConv = conv) -> None:
            conv.zero_grad(set_to_none=True)
            loss_of(conv(feats, pos, edge_index)).backward()

        names.append(f"symnet EGNNConv ({widths})")
        steps.append(step)
    sparse = EGNN_Sparse(feats_dim=F, pos_dim=D, m_dim=H, aggr="mean")
    both = torch.cat([pos, feats], -1)

    def peer_step() -> None:
        sparse.zero_grad(set_to_none=True)
        out = sparse(both, edge_index)
        (out[:, D:].square().mean() + out[:, :D].square().mean()).backward()

    names.append("egnn-pytorch EGNN_Sparse")
    steps.append(peer_step)
    times, ratios = interleaved_ms(steps, repeats)
    return [
        (name, f"{t:.0f}", f"{ratio:.2f}" if ratio is not None else "", f"{peak_memory_mb(st):.0f}")
        for name, t, ratio, st in zip(names, times, [*ratios, None], steps, strict=True)
    ]


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:>{w}}}" if i else f"{{:<{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    return "\n".join(lines + [fmt.format(*r) for r in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--conv-nodes", type=int, default=10_000)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed 0, float32, CPU")
    print(f"dense EGNN layer, forward + backward, B={B} N={N} d={D} features={F} messages={H}")
    print(f"median of {args.repeats} repeats; memory: peak RSS delta (MiB), median of 2\n")
    header = ("config", "symnet ms", "peer ms", "ratio", "symnet MiB", "peer MiB", "ratio",
              "saved MiB", "peer saved")  # fmt: skip
    print(table(header, dense_rows(args.repeats)))
    print(f"\nEGNNConv, forward + backward, {F} features, messages {H}")
    rows = conv_rows(args.conv_nodes, max(3, args.repeats // 2))
    print(table(("layer", "ms", "ratio", "peak MiB"), rows))


if __name__ == "__main__":
    main()
