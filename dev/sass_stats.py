"""What the kernels compile to on a Hopper GPU, without one: registers, shared memory, SASS instructions and global
load/store vector widths of the forward, dQ and dK/dV kernels at their default tiles, integer and real tables, one
launch and each pass of two, compiled by the local Triton for sm_90 (its bundled ptxas and cuobjdump; no driver).

    python dev/sass_stats.py                 # the package in this checkout
    python dev/sass_stats.py /path/to/tree   # another checkout of the package (e.g. a `git worktree` of an older commit)
    PYTHONPATH=/path/to/triton-3.6 python dev/sass_stats.py   # another Triton, unpacked from its wheel

It is also the compile check: Triton's CPU interpreter never runs the compiler, so an error only the compiler or
one Triton version's front end makes (3.6 hands a jit function's default arguments over unwrapped; 3.9 does not)
shows here, not in the notebooks' tests; `02a_kernel_backward` runs this script as a test.

Static counts, not timings: two versions of a kernel that differ here differ in work per program, but only a GPU
run says by how much it matters. The shape is B=32, H=8, N=1024, D=64, W=64, bf16; q, k, v and dO contiguous, the
output and the gradients heads-interleaved (as the launchers allocate them); the local Triton may be newer than
the GPU machine's."""
import os, re, subprocess, sys, tempfile

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fibonacci_attention.core import kernel, kernel_backward  # noqa: E402
from fibonacci_attention.core.kernel_common import RUNTIME_ARGS, default_tiles  # noqa: E402

B, H, N, D = 32, 8, 1024, 64
TARGET = GPUTarget("cuda", 90, 32)
CUOBJDUMP = os.path.join(os.path.dirname(triton.__file__), "backends/nvidia/bin/cuobjdump")
LAYOUTS = dict(contiguous=(H * N * D, N * D, D), interleaved=(N * H * D, D, H * D))  # (batch, head, row) strides
TENSORS = dict(q="contiguous", k="contiguous", v="contiguous", do="contiguous",
               o="interleaved", dq="interleaved", dk="interleaved", dv="interleaved")


def argument_values(real: bool):
    "A value (or a pointer type) for every runtime argument any of the kernels takes; `real`: a float offsets table."
    values = {n: "*bf16" for n in ("Q", "K", "V", "O", "DO", "DQ", "DK", "DV")}
    values.update({n: "*fp32" for n in ("DQ_PART", "DK_PART", "DV_PART", "LSE", "DELTA", "P_ROWS", "DS_ROWS", "DOFFS")})
    values.update(OFFS="*fp32" if real else "*i32", sm_scale=0.125, N=N, H=H, GROUP=1, S=6, STRIDE_OFFS=0, REACH=0)
    for t, layout in TENSORS.items(): values.update({f"stride_{t}{s}": v for s, v in zip("bhn", LAYOUTS[layout])})
    return values


def compile_for_hopper(fn, constants: dict, options: dict):
    "Compile a jit function with Triton's launch-time specialization (pointers and multiples of 16 marked divisible)."
    values, signature, attrs = argument_values(constants["IS_REAL"]), {}, {}
    constants = dict(constants, **{p.name: values[p.name] for p in fn.params if p.is_constexpr and p.name in values})
    for i, name in enumerate(fn.arg_names):
        if name in constants: signature[name] = "constexpr"; continue
        value = values[name]
        signature[name] = value if isinstance(value, str) else "fp32" if isinstance(value, float) else "i32"
        if isinstance(value, str) or (isinstance(value, int) and name not in RUNTIME_ARGS and value % 16 == 0):
            attrs[(i,)] = [["tt.divisibility", 16]]
    source = ASTSource(fn, signature, constexprs={(fn.arg_names.index(k),): v for k, v in constants.items()}, attrs=attrs)
    return triton.compile(source, target=TARGET, options=options)


def stats(compiled) -> dict:
    "Registers, shared and local memory (bytes), SASS instructions, and global loads/stores by vector width (PTX)."
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f: f.write(compiled.asm["cubin"])
    usage = subprocess.run([CUOBJDUMP, "--dump-resource-usage", f.name], capture_output=True, text=True).stdout
    sass = subprocess.run([CUOBJDUMP, "-sass", f.name], capture_output=True, text=True).stdout
    os.unlink(f.name)
    ptx = compiled.asm["ptx"]
    out = {k: int(v) for k, v in re.findall(r"(REG|SHARED|LOCAL):(\d+)", usage)}
    out["SASS"] = len(re.findall(r"/\*[0-9a-f]{4}\*/", sass))
    for op in ("ld", "st"):
        out[f"{op}.v4"] = len(re.findall(rf"{op}\.global(\.\w+)*\.v4", ptx))
        out[f"{op}.scalar"] = len(re.findall(rf"{op}\.global\.(?!v)[\w.]*\s", ptx))
    return out


def kernel_cases():
    "(label, kernel, constants, launch options) of every launch the launchers make at this shape, default tiles."
    from fibonacci_attention.core.kernel_backward import BOTH_PARTS, SPARSE_PART, WINDOW_PART
    kernels = (("fwd", kernel._attn_fwd, (None,)),
               ("dq", kernel_backward._attn_bwd_dq, (BOTH_PARTS, WINDOW_PART, SPARSE_PART)),
               ("dkdv", kernel_backward._attn_bwd_dkdv, (BOTH_PARTS, WINDOW_PART, SPARSE_PART)))
    for real in (False, True):
        base = dict(WINDOW=64, IS_REAL=real, FILTERED=real, HEAD_DIM=D, BLOCK_D=D, S_BLOCK=16, DOT_FP32=False)
        for name, fn, parts in kernels:
            for part in parts:
                tiles = name + ("", "_window", "_sparse")[part] if part is not None else name
                block_m, block_n, warps, sparse_stages, stages, max_registers = default_tiles(tiles, D, real)
                constants = dict(base, BLOCK_M=block_m, BLOCK_N=block_n, SPARSE_STAGES=sparse_stages)
                if part is None: constants["KV_EVICT"] = "" if real else "evict_last"  # as `attention_forward` passes it
                else: constants["PART"] = part
                options = dict(num_warps=warps, num_stages=stages, **({"maxnreg": max_registers} if max_registers else {}))
                yield f"{tiles} {'real' if real else 'int'}", fn, constants, options


if __name__ == "__main__":
    print(f"triton {triton.__version__}, sm_90")
    for label, fn, constants, options in kernel_cases():
        print(f"{label:18s}", "  ".join(f"{k} {v}" for k, v in stats(compile_for_hopper(fn, constants, options)).items()))
