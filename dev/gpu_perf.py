"""Where the sparse attention's time goes at training shapes, on a lent GPU (torch + triton alone).

    OUT=out DEADLINE=500 PYTHONPATH=. python dev/gpu_perf.py host times candidates launch model

- host: one eager forward + backward at B=32, N=1024 (H=8, D=64, W=64): wall time (`do_bench`) against the GPU time
  of its kernels, for our op and for SDPA, and a cProfile of the eager call;
- times: per shape (the `small` model's training shapes, W=32, H=4, and the kernel benchmark's, W=64, H=8), integer
  and real offsets: GPU time of each kernel (profiler), the backward as two passes and as one launch per kernel,
  and forward + backward eager and replayed from a CUDA graph, ours and SDPA's, side by side;
- candidates: the default tiles against their nearest rivals, two passes against one launch, at every shape;
- launch: host µs of one eager forward + backward and of its parts at a tiny shape, and the CPU-side profile of the
  eager call at B=32, N=1024 (allocations, launches, synchronizations);
- sweep: each kernel's default tiles against rivals, one kernel at a time, at 131072, 1024, 512 and 4096 (`perf_sweep.csv`);
- split: dQ and dK/dV as one launch and as two passes at lengths 2K-128K (`perf_split.csv`);
- maxnreg: every kernel with a register cap of 168 or 128 per thread against none (`perf_maxnreg.csv`);
- threads: an eager fwd+bwd's host time on the engine's worker thread and on the calling thread, with the backward's
  launches stubbed out or its work skipped, and each launch timed on either thread;
- launch_path: host µs of one launch through each layer of Triton's `kernel[grid](...)`, through the compiled kernel
  alone and through `kernel_common.launch`, and of the launchers either way, on the calling thread and another thread;
- handoff: an eager fwd+bwd's host time split into the forward, the hand-off to the backward, the backward and the way
  back, with the backward on the engine's worker thread and on the calling thread;
- engine: the eager training step with the backward on the autograd engine's worker thread and on the calling thread;
- model: GPU time per kernel of one compiled training step of the `small` model (ctx 512 x 64) for dense, fib-fixed
  and fib-learned, grouped (our kernels, SDPA, matmuls, Inductor's fused kernels, copies, other), and the step's wall
  time eager, compiled and with CUDA graphs: where a sparse model's step loses to dense's.
Rows go to $OUT/perf_*.csv (committed as `nbs/results/perf_times.csv`, `perf_candidates.csv`, `perf_model.csv`); the log to
$OUT/perf_log.txt (`nbs/results/logs/session5_perf.txt`, `session6_call*/`)."""
import contextlib, cProfile, io, os, pstats, sys, time
from pathlib import Path

import torch
import torch.nn.functional as F
from triton.testing import do_bench

from fibonacci_attention.bench import bench_offsets, cuda_kernel_ms, graphed, kernel_times, write_csv
from fibonacci_attention.attention import sparse_attention
from fibonacci_attention.kernel import attention_forward
from fibonacci_attention.kernel_backward import attention_backward
from fibonacci_attention.inputs import sparse_pattern
from fibonacci_attention.runtime import calling_thread_backward

START, DEADLINE = time.time(), float(os.environ.get("DEADLINE", 500))
OUT = Path(os.environ.get("OUT", "out"))
SHAPES = [(64, 4, 512, 32), (8, 4, 4096, 32), (1, 4, 32768, 32), (32, 8, 1024, 64), (1, 8, 131072, 64)]  # B, H, N, W


def log(msg):
    line = f"[{time.time() - START:6.1f}s] {msg}"
    print(line, flush=True)
    with open(OUT / "perf_log.txt", "a") as f: f.write(line + "\n")


def case(batch, heads, n, window, real):
    q, k, v, do = (torch.randn(batch, heads, n, 64, device="cuda", dtype=torch.bfloat16) for _ in range(4))
    pattern = sparse_pattern(bench_offsets(n, window, real), heads)
    if real: pattern = pattern._replace(sparse=pattern.sparse.detach().requires_grad_())
    return q.requires_grad_(), k.requires_grad_(), v.requires_grad_(), do, pattern


def fwd_bwd(fn, leaves, do):
    return lambda: torch.autograd.grad(fn(), leaves, do)


def eager_case(shape, real):
    "`case`'s q, k, v, dO and the op's eager forward + backward on them (through the table too when it is real)."
    q, k, v, do, pattern = case(*shape, real)
    leaves = (q, k, v) + ((pattern.sparse,) if real else ())
    return q, k, v, do, fwd_bwd(lambda: sparse_attention(q, k, v, pattern), leaves, do)


def launcher_case(shape, real):
    "`case`'s inputs detached, the launchers' table arguments (table, window, reach, scale), and the forward's o, lse."
    q, k, v, do, pattern = case(*shape, real)
    q, k, v = q.detach(), k.detach(), v.detach()
    args = (pattern.sparse.detach(), pattern.window, pattern.reach, 0.125)
    return (q, k, v, do, args, *attention_forward(q, k, v, *args))


def shape_cases(shapes, what, reserve=30):
    "Each shape with an integer, then a real table: (shape, real); stops, logged, when time runs short."
    for shape in shapes:
        for real in (False, True):
            if left() < reserve: log(f"{what}: out of time"); return
            yield shape, real


def launcher_cases(shapes, what, reserve=30):
    "`shape_cases` with each case's `launcher_case`: (shape, real, (q, k, v, do, args, o, lse))."
    for shape, real in shape_cases(shapes, what, reserve): yield shape, real, launcher_case(shape, real)


def log_row(what, row, digits=3):
    log(what + " " + "  ".join(f"{key} {val:.{digits}f}" if isinstance(val, float) else f"{key} {val}" for key, val in row.items()))


@contextlib.contextmanager
def through_triton():
    "Every launch of the block as `kernel[grid](...)` (`kernel_common.DIRECT_LAUNCH` off): for stand-in kernels and A/B timings."
    import fibonacci_attention.kernel_common as kernel_common
    kernel_common.DIRECT_LAUNCH = False
    try: yield
    finally: kernel_common.DIRECT_LAUNCH = True


def on_python_thread(fn):
    "`fn()` run on a new Python thread (not the autograd engine's): its result."
    import threading
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", fn()))
    thread.start(); thread.join()
    return result["value"]


def calling_thread_ms(step):
    with calling_thread_backward(): return do_bench(step, return_mode="median")


def graphed_ms(step):
    try: return do_bench(graphed(step), return_mode="median")
    except Exception as e: log(f"  graph capture failed: {type(e).__name__}: {e}"); return float("nan")


def host():
    q, k, v, do, pattern = case(32, 8, 1024, 64, False)
    ours = fwd_bwd(lambda: sparse_attention(q, k, v, pattern), (q, k, v), do)
    sdpa = fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v), do)
    for name, step in (("ours", ours), ("sdpa", sdpa)):
        wall, gpu = do_bench(step, return_mode="median"), sum(cuda_kernel_ms(step).values())
        log(f"host {name}: eager fwd+bwd wall {wall:.3f} ms (calling thread {calling_thread_ms(step):.3f} ms), GPU {gpu:.3f} ms, "
            f"graphed {graphed_ms(step):.3f} ms")
    torch.cuda.synchronize()
    prof = cProfile.Profile()
    prof.runcall(lambda: [ours() for _ in range(100)] and torch.cuda.synchronize())
    text = io.StringIO(); pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(18)
    log("cProfile, 100 eager fwd+bwd:\n" + text.getvalue())


def times():
    rows = []
    for shape, real in shape_cases(SHAPES, "times"):
        q, k, v, do, ours = eager_case(shape, real)
        sdpa = fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v), do)
        qd, kd, vd, dod, args, o, lse = launcher_case(shape, real)
        t = kernel_times(ours)
        row = dict(batch=shape[0], heads=shape[1], n=shape[2], window=shape[3], real=real, fwd_gpu=t["fwd"], dq_gpu=t["dq"],
                   dkdv_gpu=t["dkdv"], bwd_gpu=t["dq"] + t["dkdv"],
                   bwd_one_launch_gpu=sum(kernel_times(lambda: attention_backward(dod, qd, kd, vd, o, lse, *args, split=False)).values()),
                   ours_eager=do_bench(ours, return_mode="median"), ours_graphed=graphed_ms(ours),
                   ours_eager_calling_thread=calling_thread_ms(ours),
                   sdpa_gpu=sum(cuda_kernel_ms(sdpa).values()), sdpa_eager=do_bench(sdpa, return_mode="median"),
                   sdpa_eager_calling_thread=calling_thread_ms(sdpa),
                   sdpa_graphed=graphed_ms(sdpa), device=torch.cuda.get_device_name())
        rows.append(row)
        log_row("times", row)
        write_csv(rows, OUT / "perf_times.csv")
    return rows


def left(): return DEADLINE - (time.time() - START)



# -- candidates: the default tiles against their nearest rivals, every shape, integer and real offsets ----------
FWD_CANDIDATES = [None, (64, 32, 4, 1, 3), (64, 64, 4, 1, 1), (64, 32, 4, 1, 1)]  # None: DEFAULT_TILES
BWD_CANDIDATES = {"two passes": (True, None), "one launch": (False, None),
                  "one launch, dq (32, 32, 4, 2, 1)": (False, {"dq": (32, 32, 4, 2, 1)}),
                  "one launch, dkdv (64, 64, 4, 2, 1)": (False, {"dkdv": (64, 64, 4, 2, 1)})}

def candidates():
    rows = []
    for shape, real, (q, k, v, do, args, o, lse) in launcher_cases(SHAPES, "candidates"):
        timed = {}
        for c in FWD_CANDIDATES:
            timed[f"fwd {c or 'default'}"] = sum(cuda_kernel_ms(lambda: attention_forward(q, k, v, *args, tiles=c and {"fwd": c}), 10).values())
        for name, (split, tiles) in BWD_CANDIDATES.items():
            timed[name] = sum(cuda_kernel_ms(lambda: attention_backward(do, q, k, v, o, lse, *args, tiles=tiles, split=split), 10).values())
        rows += [dict(batch=shape[0], heads=shape[1], n=shape[2], window=shape[3], real=real, candidate=name, gpu_ms=ms,
                      device=torch.cuda.get_device_name()) for name, ms in timed.items()]
        log(f"candidates {shape} real={real}: " + "  ".join(f"{name}: {ms:.3f}" for name, ms in timed.items()))
        write_csv(rows, OUT / "perf_candidates.csv")
    return rows


# -- launch: where an eager forward + backward's host time goes -----------------------------------------------------
def host_us(fn, n=300):
    "Mean wall µs per call of `fn` in a plain loop: the host time when the GPU work is small."
    return 1e3 * wall_ms(fn, n, warmup=20)

class _Scale(torch.autograd.Function):
    "The cheapest Python autograd.Function: the engine's own cost per forward + backward."
    @staticmethod
    def forward(ctx, x): return x * 2
    @staticmethod
    def backward(ctx, g): return g * 2

def eager_parts():
    "Host µs of pieces of the eager path at a tiny shape: which of them costs what the whole call costs."
    from fibonacci_attention.attention import _EagerSparseAttention, _forward
    q, k, v, do, pattern = case(1, 8, 128, 64, False)
    qd, kd, vd = q.detach(), k.detach(), v.detach()
    args = (pattern.sparse, pattern.window, pattern.reach, 0.125, True)
    def threads_off(fn):
        def run():
            with calling_thread_backward(): fn()
        return run
    ours = fwd_bwd(lambda: sparse_attention(q, k, v, pattern), (q, k, v), do)
    return {"fwd, inputs need grad": lambda: sparse_attention(q, k, v, pattern),
            "Function.apply fwd": lambda: _EagerSparseAttention.apply(q, k, v, *args),
            "_forward": lambda: _forward(qd, kd, vd, *args),
            "fwd+bwd, engine single-threaded": threads_off(ours),
            "out.backward": lambda: sparse_attention(q, k, v, pattern).backward(do),
            "trivial Function fwd+bwd": fwd_bwd(lambda: _Scale.apply(q), (q,), do),
            "trivial Function, single-threaded": threads_off(fwd_bwd(lambda: _Scale.apply(q), (q,), do))}

def launch():
    "Host µs of the eager call and of its parts at a tiny shape (GPU time negligible), and the CPU-side profile at B=32."
    from torch.profiler import ProfilerActivity, profile
    from fibonacci_attention.kernel_common import heads_interleaved
    for batch, n in ((1, 128), (32, 1024)):
        q, k, v, do, pattern = case(batch, 8, n, 64, False)
        qd, kd, vd = q.detach(), k.detach(), v.detach()
        args = (pattern.sparse, pattern.window, pattern.reach, 0.125)
        o, lse = attention_forward(qd, kd, vd, *args)
        parts = {"ours fwd+bwd": fwd_bwd(lambda: sparse_attention(q, k, v, pattern), (q, k, v), do),
                 "sdpa fwd+bwd": fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v), do),
                 "ours fwd (no grad)": lambda: sparse_attention(qd, kd, vd, pattern),
                 "attention_forward": lambda: attention_forward(qd, kd, vd, *args),
                 "attention_backward": lambda: attention_backward(do, qd, kd, vd, o, lse, *args),
                 "heads_interleaved": lambda: heads_interleaved(q.shape, q),
                 "torch.empty_like": lambda: torch.empty_like(q)}
        log(f"launch B={batch} N={n}: " + "  ".join(f"{name} {host_us(fn):.1f} µs" for name, fn in parts.items()))
    log("launch parts at B=1 N=128: " + "  ".join(f"{name} {host_us(fn):.1f} µs" for name, fn in eager_parts().items()))
    fwd = eager_parts()["fwd, inputs need grad"]
    prof = cProfile.Profile()
    prof.runcall(lambda: [fwd() for _ in range(200)])
    text = io.StringIO(); pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(14)
    log("cProfile, 200 forwards with inputs that need grad:\n" + text.getvalue())
    step = parts["ours fwd+bwd"]
    step(); torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(20): step()
        torch.cuda.synchronize()
    log("CPU-side profile, 20 eager fwd+bwd at B=32 N=1024:\n"
        + prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))


# -- model: where the compiled training step's GPU time goes, per kind ---------------------------------------------
KERNEL_GROUPS = (("ours", ("_attn_",)), ("sdpa", ("flash", "fmha", "attention", "cudnn")),
                 ("matmul", ("gemm", "cutlass", "nvjet", "sm90", "xmma", "cublas")), ("copy", ("copy", "clone", "cat")),
                 ("inductor", ("triton_",)))

def kernel_group(name):
    low = name.lower()
    return next((group for group, keys in KERNEL_GROUPS if any(k in low for k in keys)), "other")

def training_step(kind, mode, ctx=512, batch=64, worker_thread=False):
    "A training step of the `small` model as `fibattn bench models` builds and compiles it, after three warm-up steps."
    from fibonacci_attention.bench import _compiled, _model
    model = _model(kind, "small", ctx, "cuda")
    run = _compiled(model, mode)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    idx = torch.randint(0, model.cfg.vocab_size, (batch, ctx + 1), device="cuda")
    def step():
        torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast("cuda", torch.bfloat16): loss = run(idx[:, :-1], idx[:, 1:])[1]
        if worker_thread: loss.backward()  # the autograd engine's default
        else:
            with calling_thread_backward(): loss.backward()
        opt.step(); opt.zero_grad(set_to_none=True)
    for _ in range(3): step()
    return step

def wall_ms(step, n=10, warmup=0):
    "Mean wall milliseconds per call of `step` over n calls, synchronized once before and once after."
    for _ in range(warmup): step()
    torch.cuda.synchronize(); t0 = time.perf_counter()
    for _ in range(n): step()
    torch.cuda.synchronize()
    return 1e3 * (time.perf_counter() - t0) / n

def model():
    rows = []
    for kind in ("dense", "fib-fixed", "fib-learned"):
        if left() < 60: log("model: out of time"); return rows
        torch._dynamo.reset()
        walls = {mode: wall_ms(training_step(kind, mode)) for mode in ("eager", "graphs")}
        torch._dynamo.reset()
        step = training_step(kind, "compiled")
        walls["compiled"] = wall_ms(step)
        per_kernel = cuda_kernel_ms(step, 5)
        groups = {}
        for name, ms in per_kernel.items():
            group = kernel_group(name)
            groups[group] = groups.get(group, 0.0) + ms
        log(f"model {kind}: wall/step " + "  ".join(f"{m} {ms:.2f} ms" for m, ms in walls.items())
            + f"; GPU {sum(per_kernel.values()):.2f} ms: " + "  ".join(f"{g} {ms:.2f}" for g, ms in sorted(groups.items())))
        top = sorted(per_kernel.items(), key=lambda kv: -kv[1])[:25]
        log("\n".join(f"    {ms:7.3f} ms  {kernel_group(name):8s} {name[:110]}" for name, ms in top))
        rows += [dict(kind=kind, kernel=name[:200], group=kernel_group(name), gpu_ms_per_step=ms, device=torch.cuda.get_device_name())
                 for name, ms in per_kernel.items()]
        rows += [dict(kind=kind, kernel=f"wall {m}", group="wall", gpu_ms_per_step=ms, device=torch.cuda.get_device_name())
                 for m, ms in walls.items()]
        write_csv(rows, OUT / "perf_model.csv")
    return rows


def engine():
    "Eager training step of the `small` model at ctx 512 x 64: the backward on the engine's worker thread vs the calling thread."
    for kind in ("dense", "fib-fixed", "fib-learned"):
        walls = {where: wall_ms(training_step(kind, "eager", worker_thread=where == "worker")) for where in ("worker", "calling")}
        log(f"engine {kind}: eager step, backward on the worker thread {walls['worker']:.2f} ms, on the calling thread {walls['calling']:.2f} ms")


# -- sweep: each kernel's tiles against rivals, per kernel, at the shapes where targets are missed ----------------
SWEEP_SHAPES = [(1, 8, 131072, 64), (32, 8, 1024, 64), (64, 4, 512, 32), (8, 4, 4096, 32)]
SWEEP = {  # kernel (a `block_config` key): its rivals, (BLOCK_M, BLOCK_N, num_warps, SPARSE_STAGES, num_stages)
    "fwd": [(64, 32, 4, 2, 3), (64, 64, 4, 1, 3), (64, 32, 8, 1, 3), (128, 32, 8, 1, 3), (32, 32, 2, 1, 3), (64, 16, 4, 1, 3)],
    "dq": [(64, 64, 8, 1, 1), (32, 64, 4, 1, 1), (32, 32, 2, 1, 1), (64, 32, 4, 1, 2), (64, 64, 4, 2, 1), (64, 64, 8, 2, 1)],
    "dkdv": [(32, 64, 4, 1, 1), (32, 64, 2, 2, 1), (64, 64, 8, 2, 1), (16, 64, 2, 2, 1), (32, 32, 4, 2, 1), (32, 64, 8, 2, 1)],
    "dq_sparse": [(64, 32, 4, 1, 1), (64, 32, 4, 2, 1), (32, 32, 2, 2, 1), (128, 32, 8, 2, 1), (32, 32, 4, 1, 1), (64, 32, 8, 2, 1)],
    "dkdv_sparse": [(64, 32, 4, 1, 1), (32, 32, 4, 2, 1), (64, 32, 8, 2, 1), (128, 32, 8, 2, 1), (32, 32, 2, 2, 1), (64, 32, 2, 2, 1)],
}

def sweep():
    "GPU time of each kernel with its default tiles and with each rival in `SWEEP` (one kernel changed at a time)."
    from fibonacci_attention.kernel_common import default_tiles
    rows = []
    for shape, real, (q, k, v, do, args, o, lse) in launcher_cases(SWEEP_SHAPES, "sweep", 40):
        for kernel, rivals in SWEEP.items():
            two_passes = kernel.endswith("_sparse")  # a pass's tiles are used only when the kernel is split
            measured = "fwd" if kernel == "fwd" else kernel.split("_")[0]
            for tiles in [None] + rivals:
                over = tiles and {kernel: tiles}
                if kernel == "fwd": fn = lambda: attention_forward(q, k, v, *args, tiles=over)
                else: fn = lambda: attention_backward(do, q, k, v, o, lse, *args, tiles=over, split=two_passes)
                try: ms = kernel_times(fn, 10)[measured]
                except Exception as e: log(f"  {kernel} {tiles}: {type(e).__name__}: {str(e)[:120]}"); continue
                rows.append(dict(batch=shape[0], heads=shape[1], n=shape[2], window=shape[3], real=real, kernel=kernel,
                                 tiles=str(tiles or default_tiles(kernel, 64, real)), default=tiles is None, gpu_ms=ms,
                                 device=torch.cuda.get_device_name()))
            best = min((r for r in rows if r["kernel"] == kernel and r["n"] == shape[2] and r["real"] == real), key=lambda r: r["gpu_ms"])
            base = next(r for r in rows if r["kernel"] == kernel and r["n"] == shape[2] and r["real"] == real and r["default"])
            log(f"sweep {shape} real={real} {kernel}: default {base['gpu_ms']:.4f}  best {best['tiles']} {best['gpu_ms']:.4f}")
        write_csv(rows, OUT / "perf_sweep.csv")
    return rows


# -- threads: the eager backward on the autograd engine's worker thread against the calling thread -----------------
def threads():
    "Host µs of an eager fwd+bwd on the engine's worker thread and on the calling thread, with the backward's work cut down (Triton's launch path)."
    import fibonacci_attention.attention as attention
    import fibonacci_attention.kernel_backward as kb
    q, k, v, do, pattern = case(1, 8, 128, 64, False)
    qd, kd, vd = q.detach(), k.detach(), v.detach()
    args = (pattern.sparse, pattern.window, pattern.reach, 0.125)
    o, lse = attention_forward(qd, kd, vd, *args)
    bwd = lambda: attention_backward(do, qd, kd, vd, o, lse, *args)
    log(f"threads: attention_backward on the main thread {host_us(bwd):.1f} µs, on a Python thread {on_python_thread(lambda: host_us(bwd)):.1f} µs")
    full, grads = attention._backward_grads, (torch.zeros_like(qd), torch.zeros_like(kd), torch.zeros_like(vd), None)
    class NoLaunch:
        def __getitem__(self, grid): return lambda *a, **kw: None
    kernels = kb._attn_bwd_dq, kb._attn_bwd_dkdv
    variants = {"full backward": (full, False), "no launches": (full, True), "returns zeros": (lambda *a: grads, False)}
    step = fwd_bwd(lambda: sparse_attention(q, k, v, pattern), (q, k, v), do)
    with through_triton():  # the stand-ins below are launched as `kernel[grid](...)`
        try:
            for name, (fn, stub) in variants.items():
                attention._backward_grads = fn
                kb._attn_bwd_dq, kb._attn_bwd_dkdv = (NoLaunch(), NoLaunch()) if stub else kernels
                worker_us = host_us(step)
                with calling_thread_backward(): calling_us = host_us(step)
                log(f"threads, {name}: fwd+bwd worker thread {worker_us:.1f} µs, calling thread {calling_us:.1f} µs")
            timed = [TimedLaunches(kernel) for kernel in kernels]  # the launches themselves, on each thread
            attention._backward_grads, (kb._attn_bwd_dq, kb._attn_bwd_dkdv) = full, timed
            for where in ("worker", "calling"):
                for t in timed: t.whole.clear()
                if where == "worker": host_us(step)
                else:
                    with calling_thread_backward(): host_us(step)
                mean = lambda xs: 1e6 * sum(xs) / max(len(xs), 1)
                log(f"threads, {where} thread: per launch " + "  ".join(f"{name} {mean(t.whole):.1f} µs"
                                                                       for name, t in zip(("dq", "dkdv"), timed)))
        finally: attention._backward_grads, (kb._attn_bwd_dq, kb._attn_bwd_dkdv) = full, kernels


class TimedLaunches:
    "Stands for a jit kernel: launches it, timing each whole `kernel[grid](...)` call (binder, cache look-up, launch)."
    def __init__(self, kernel): self.kernel, self.whole = kernel, []
    def __getitem__(self, grid):
        def launch(*args, **kwargs):
            start = time.perf_counter()
            try: return self.kernel[grid](*args, **kwargs)
            finally: self.whole.append(time.perf_counter() - start)
        return launch


def launch_path():
    "Host µs of one forward launch at a tiny shape through each layer of Triton's launch path and through `launch`, on the calling thread and a Python thread."
    import fibonacci_attention.kernel as kernel_module
    import fibonacci_attention.kernel_common as kernel_common
    q, k, v, do, args, o, lse = launcher_case((1, 8, 128, 64), False)
    jit, seen = kernel_module._attn_fwd, {}
    class Record:
        def __getitem__(self, grid):
            def launch(*a, **kw): seen.update(grid=grid, args=a, kwargs=kw); return jit[grid](*a, **kw)
            return launch
    kernel_module._attn_fwd = Record()
    try:
        with through_triton(): attention_forward(q, k, v, *args)
    finally: kernel_module._attn_fwd = jit
    grid, a, kw = seen["grid"], seen["args"], seen["kwargs"]
    binder = jit.device_caches[torch.cuda.current_device()][4]
    grid = tuple(grid) + (1,) * (3 - len(grid))  # a compiled kernel's runner reads all three
    compiled = jit[grid](*a, **kw)
    full = tuple(binder(*a, **kw)[0].values())
    stream = torch.cuda.current_stream().cuda_stream
    launchers = {"attention_forward": lambda: attention_forward(q, k, v, *args),
                 "attention_backward": lambda: attention_backward(do, q, k, v, o, lse, *args)}
    paths = {"kernel[grid](...)": lambda: jit[grid](*a, **kw), "binder alone": lambda: binder(*a, **kw),
             "compiled.run(...)": lambda: compiled.run(grid[0], grid[1], 1, stream, compiled.function, compiled.packed_metadata,
                                                       None, None, None, *full),
             "launch(...)": lambda: kernel_common.launch(jit, grid[:2], a, kw), **launchers,
             "torch.empty_like": lambda: torch.empty_like(q)}
    def measure():
        timed = {name: host_us(fn) for name, fn in paths.items()}
        with through_triton(): timed.update({f"{name} through Triton": host_us(fn) for name, fn in launchers.items()})
        return timed
    for where, timed in (("calling thread", measure()), ("Python thread", on_python_thread(measure))):
        log(f"launch_path, {where}: " + "  ".join(f"{name} {us:.1f} µs" for name, us in timed.items()))


def handoff():
    "Where an eager fwd+bwd's host time goes at a tiny shape: the forward, the hand-off to the backward, its work, the way back."
    import fibonacci_attention.attention as attention
    q, k, v, do, pattern = case(1, 8, 128, 64, False)
    full, marks = attention._backward_grads, {}
    def timed_backward(*a):
        marks["enter"] = time.perf_counter()
        try: return full(*a)
        finally: marks["exit"] = time.perf_counter()
    attention._backward_grads = timed_backward
    try:
        for where in ("worker", "calling"):
            parts = {"forward": [], "to backward": [], "backward": [], "back to caller": [], "whole": []}
            def step():
                t0 = time.perf_counter()
                out = sparse_attention(q, k, v, pattern)
                t1 = time.perf_counter()
                torch.autograd.grad(out, (q, k, v), do)
                t2 = time.perf_counter()
                for name, (a, b) in zip(parts, ((t0, t1), (t1, marks["enter"]), (marks["enter"], marks["exit"]),
                                                (marks["exit"], t2), (t0, t2))):
                    parts[name].append(1e6 * (b - a))
            for _ in range(30): step()
            for xs in parts.values(): xs.clear()
            torch.cuda.synchronize()
            if where == "worker":
                for _ in range(300): step()
            else:
                with calling_thread_backward():
                    for _ in range(300): step()
            torch.cuda.synchronize()
            log(f"handoff, {where} thread (median µs): " + "  ".join(f"{n} {sorted(xs)[len(xs) // 2]:.1f}" for n, xs in parts.items()))
    finally: attention._backward_grads = full


# -- split: each backward kernel as one launch and as two passes, at the lengths between the sweep's ---------------
SPLIT_SHAPES = [(8, 4, 2048, 32), (8, 4, 4096, 32), (2, 4, 16384, 32), (1, 4, 32768, 32), (1, 8, 131072, 64)]

def split():
    "GPU time of dQ and dK/dV, one launch against two passes (default tiles), integer and real tables."
    rows = []
    for shape, real, (q, k, v, do, args, o, lse) in launcher_cases(SPLIT_SHAPES, "split"):
        t = {two: kernel_times(lambda: attention_backward(do, q, k, v, o, lse, *args, split=two), 10) for two in (False, True)}
        rows.append(dict(batch=shape[0], heads=shape[1], n=shape[2], window=shape[3], real=real,
                         dq_one=t[False]["dq"], dq_two=t[True]["dq"], dkdv_one=t[False]["dkdv"], dkdv_two=t[True]["dkdv"],
                         device=torch.cuda.get_device_name()))
        log_row("split", rows[-1], 4)
        write_csv(rows, OUT / "perf_split.csv")
    return rows


# -- maxnreg: a register cap per thread (more programs per SM) against the compiler's own choice ------------------
def maxnreg():
    "GPU time of each kernel, default tiles and split, with no register cap (the compiler's choice), 168 or 128 on every launch."
    import fibonacci_attention.kernel as kernel_module
    import fibonacci_attention.kernel_backward as backward_module
    original, rows = kernel_module.launch_meta, []
    def capped(reg):
        def launch_meta(consts, name, tiles=None, **constexprs):
            meta = {key: val for key, val in original(consts, name, tiles, **constexprs).items() if key != "maxnreg"}  # no default cap
            return dict(meta, maxnreg=reg) if reg else meta
        return launch_meta
    try:
        for shape, real in shape_cases(SWEEP_SHAPES, "maxnreg"):
            step = eager_case(shape, real)[-1]
            for reg in (None, 168, 128):
                kernel_module.launch_meta = backward_module.launch_meta = capped(reg)
                t = kernel_times(step, 10)
                rows.append(dict(batch=shape[0], heads=shape[1], n=shape[2], window=shape[3], real=real, maxnreg=reg or 0,
                                 **{f"{name}_gpu": ms for name, ms in t.items()}, device=torch.cuda.get_device_name()))
                log_row("maxnreg", rows[-1], 4)
            write_csv(rows, OUT / "perf_maxnreg.csv")
    finally: kernel_module.launch_meta = backward_module.launch_meta = original
    return rows


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    log(f"{torch.cuda.get_device_name()} torch {torch.__version__}; steps {sys.argv[1:]}")
    steps = {"host": host, "times": times, "candidates": candidates, "model": model, "launch": launch, "engine": engine,
             "sweep": sweep, "split": split, "maxnreg": maxnreg, "threads": threads,
             "launch_path": launch_path, "handoff": handoff}
    for step in sys.argv[1:]: steps[step]()
    log("end")
