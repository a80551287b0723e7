"""Host time of one eager forward + backward of the sparse attention, with the GPU work taken away.

The Triton kernels are replaced by no-op stubs and the launchers run on small CPU tensors (the kernel path is
forced with TRITON_INTERPRET=1, but nothing is interpreted), so what is timed is the Python and dispatcher work
that every eager call pays: the checks of `sparse_attention`, autograd, the op dispatch and the launchers.

    python dev/host_overhead.py            # median µs per call: the entry point, the op, the launchers alone
    python dev/host_overhead.py --profile  # and a cProfile of the entry point's forward + backward
"""
import cProfile, os, pstats, sys, time

os.environ["TRITON_INTERPRET"] = "1"
import torch

import fibonacci_attention.kernel as kernel
import fibonacci_attention.kernel_backward as kernel_backward
from fibonacci_attention.attention import sparse_attention, sparse_attention_fwd
from fibonacci_attention.bench import bench_offsets
from fibonacci_attention.kernel import attention_forward
from fibonacci_attention.kernel_backward import attention_backward
from fibonacci_attention.inputs import sparse_pattern


class NoLaunch:
    "Stands for a jit kernel: `kernel[grid](...)` does nothing."
    def __getitem__(self, grid): return lambda *args, **kwargs: None

kernel._attn_fwd = kernel_backward._attn_bwd_dq = kernel_backward._attn_bwd_dkdv = NoLaunch()


def median_us(fn, calls=200, rounds=7) -> float:
    for _ in range(50): fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls): fn()
        times.append((time.perf_counter() - start) / calls * 1e6)
    return sorted(times)[rounds // 2]


def main(profile=False):
    q, k, v, do = (torch.randn(1, 8, 64, 64) for _ in range(4))
    leaves = [t.requires_grad_() for t in (q, k, v)]
    pattern = sparse_pattern(bench_offsets(1024, 64, device="cpu"), 8)
    args = (pattern.sparse, pattern.window, pattern.reach, 0.125)
    paths = {
        "sparse_attention (eager path)": lambda: torch.autograd.grad(sparse_attention(q, k, v, pattern, backend="triton"), leaves, do),
        "the op (dispatcher + registered autograd)": lambda: torch.autograd.grad(sparse_attention_fwd(q, k, v, *args, True)[0], leaves, do),
        "the launchers alone": lambda: attention_backward(do, q, k, v, *attention_forward(q, k, v, *args), *args),
    }
    for name, fn in paths.items(): print(f"{name:45s} {median_us(fn):6.0f} µs per forward + backward")
    if profile:
        prof = cProfile.Profile()
        prof.runcall(lambda: [paths["sparse_attention (eager path)"]() for _ in range(300)])
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)


if __name__ == "__main__": main("--profile" in sys.argv)
