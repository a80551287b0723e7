"""Compile the forward and backward kernels for an H100/H200 (sm_90) on a machine without a GPU.

Triton's front end differs between versions (3.6, on the lent GPU machines, hands a jit function's default
arguments over unwrapped; 3.9 does not), and the CPU interpreter never runs the compiler. This catches such
errors before a GPU call:

    python dev/compile_check.py                          # the installed triton
    PYTHONPATH=/path/to/triton-3.6 python dev/compile_check.py   # another one, unpacked from its wheel

Each kernel is compiled for integer and real offsets, one launch and two passes, to PTX (ptxas runs too)."""
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from fibonacci_attention.kernel import _attn_fwd
from fibonacci_attention.kernel_backward import _attn_bwd_dkdv, _attn_bwd_dq

FLOAT32_POINTERS = {"LSE", "DELTA", "P_ROWS", "DS_ROWS", "DOFFS", "DQ_PART", "DK_PART", "DV_PART"}
INT_ARGS = {"N", "H", "GROUP", "S", "STRIDE_OFFS", "REACH"}


def signature(fn, consts: dict, real: bool) -> dict:
    "Triton types of a kernel's arguments: bf16 tensors, float32 buffers, int sizes and strides, the offsets table."
    def kind(name):
        if name in consts: return "constexpr"
        if name == "sm_scale": return "fp32"
        if name.startswith("stride") or name in INT_ARGS: return "i32"
        if name == "OFFS": return "*fp32" if real else "*i64"
        return "*fp32" if name in FLOAT32_POINTERS else "*bf16"
    return {name: kind(name) for name in fn.arg_names}


def constants(fn, real: bool, part: int) -> dict:
    "The constexpr arguments of one launch at D=64, W=64 (row strides of a heads-interleaved tensor, H=8)."
    every = dict(WINDOW=64, IS_REAL=real, FILTERED=real, HEAD_DIM=64, BLOCK_D=64, BLOCK_M=64, BLOCK_N=32, S_BLOCK=16,
                 SPARSE_STAGES=1, DOT_FP32=False, KV_EVICT="" if real else "evict_last", PART=part,
                 **{f"stride_{t}n": 512 for t in ("q", "k", "v", "o", "do", "dq", "dk", "dv")})
    return {name: value for name, value in every.items() if name in fn.arg_names}


if __name__ == "__main__":
    target = GPUTarget("cuda", 90, 32)
    print(f"triton {triton.__version__}, target sm_90")
    for fn in (_attn_fwd, _attn_bwd_dq, _attn_bwd_dkdv):
        for real in (False, True):
            for part in ((0,) if fn is _attn_fwd else (0, 1, 2)):
                consts = constants(fn, real, part)
                kernel = triton.compile(ASTSource(fn, signature(fn, consts, real), consts), target=target,
                                        options=dict(num_warps=4, num_stages=3))
                print(f"{fn.__name__:15s} {'real' if real else 'int ':4s} part {part}: {len(kernel.asm['ptx']):7d} chars of PTX")
