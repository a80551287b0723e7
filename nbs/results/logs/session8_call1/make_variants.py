"""Build kernel variants under .device_data/variants/<name>/fibonacci_attention for an A/B GPU call.

Run from the repository root with the tree of 0eb80f0 checked out (its edits match that code):
    python nbs/results/logs/session8_call1/make_variants.py evict stream
then on the GPU: PYTHONPATH=.device_data/variants/<name> OUT=out/<name> python dev/gpu_perf.py times"""
import re, shutil, sys
from pathlib import Path
ROOT = Path("."); VAR = ROOT / ".device_data/variants"

def copy(name):
    dst = VAR / name / "fibonacci_attention"
    if dst.exists(): shutil.rmtree(dst)
    shutil.copytree(ROOT / "fibonacci_attention", dst, ignore=shutil.ignore_patterns("__pycache__"))
    return dst

def sub(path, old, new, count=1):
    s = path.read_text()
    n = s.count(old)
    assert n >= 1 and (count is None or n == count), (path.name, old, n)
    path.write_text(s.replace(old, new))

def evict(name="evict", keep=True):
    d = copy(name)
    kc, kf, kb = d / "kernel_common.py", d / "kernel.py", d / "kernel_backward.py"
    helpers = '''
@triton.jit
def _load_stream(BASE, STRIDE_N, rows, ok, offs_d, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr):
    return tl.load(BASE + rows[:, None] * STRIDE_N + offs_d[None, :], mask=_row_mask(ok, offs_d, HEAD_DIM, BLOCK_D),
                   other=0.0, eviction_policy="evict_first")

@triton.jit
def _load_keep(BASE, STRIDE_N, rows, ok, offs_d, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr):
    return tl.load(BASE + rows[:, None] * STRIDE_N + offs_d[None, :], mask=_row_mask(ok, offs_d, HEAD_DIM, BLOCK_D),
                   other=0.0, eviction_policy="evict_last")

@triton.jit
def _store_stream(BASE, STRIDE_N, rows, ok, offs_d, x, HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr):
    tl.store(BASE + rows[:, None] * STRIDE_N + offs_d[None, :], x.to(BASE.dtype.element_ty),
             mask=_row_mask(ok, offs_d, HEAD_DIM, BLOCK_D), eviction_policy="evict_first")

@triton.jit
def _dot('''
    sub(kc, "\n@triton.jit\ndef _dot(", helpers)
    # _lerp_rows: K/V rows kept
    sub(kc, "x = _load_rows(BASE, STRIDE_N, rows, ok, offs_d, HEAD_DIM, BLOCK_D).to(tl.float32)",
        "x = _load_keep(BASE, STRIDE_N, rows, ok, offs_d, HEAD_DIM, BLOCK_D).to(tl.float32)")
    sub(kc, "x += f * (_load_rows(", "x += f * (_load_keep(")
    imp = "_load_rows, "
    for f in (kf, kb): sub(f, imp, "_load_rows, _load_keep, _load_stream, _store_stream, ")
    # forward
    sub(kf, "q = _load_rows(Q,", "q = _load_stream(Q,")
    sub(kf, "k = _load_rows(K, stride_kn, offs_n", "k = _load_keep(K, stride_kn, offs_n")
    sub(kf, "v = _load_rows(V, stride_vn, offs_n", "v = _load_keep(V, stride_vn, offs_n")
    sub(kf, "_store_rows(O,", "_store_stream(O,")
    # dq
    sub(kb, "q = _load_rows(Q, stride_qn, offs_m", "q = _load_stream(Q, stride_qn, offs_m")
    sub(kb, "do = _load_rows(DO, stride_don, offs_m", "do = _load_stream(DO, stride_don, offs_m")
    sub(kb, "o = _load_rows(O,", "o = _load_stream(O,")
    sub(kb, "k = _load_rows(K, stride_kn, offs_n", "k = _load_keep(K, stride_kn, offs_n", count=2)
    sub(kb, "v = _load_rows(V, stride_vn, offs_n", "v = _load_keep(V, stride_vn, offs_n", count=2)
    sub(kb, "k = _load_rows(K, stride_kn, rows", "k = _load_keep(K, stride_kn, rows")
    sub(kb, "v = _load_rows(V, stride_vn, rows", "v = _load_keep(V, stride_vn, rows")
    sub(kb, "_store_rows(DQ, ", "_store_stream(DQ, ")
    # dkdv: own block streamed; the queries' rows kept
    s = kb.read_text()
    s = s.replace("if WINDOW > 0 and PART != SPARSE_PART:  # the window's tiles need this block's keys and values\n        k = _load_keep(K",
                  "if WINDOW > 0 and PART != SPARSE_PART:  # the window's tiles need this block's keys and values\n        k = _load_stream(K")
    s = s.replace("k = _load_stream(K, stride_kn, offs_n, key_ok, offs_d, HEAD_DIM, BLOCK_D)\n        v = _load_keep(V",
                  "k = _load_stream(K, stride_kn, offs_n, key_ok, offs_d, HEAD_DIM, BLOCK_D)\n        v = _load_stream(V")
    s = s.replace("q = _load_rows(Qh,", "q = _load_keep(Qh,").replace("do = _load_rows(DOh,", "do = _load_keep(DOh,")
    s = s.replace("* _load_rows(Q, stride_qn, qrows", "* _load_keep(Q, stride_qn, qrows").replace("* _load_rows(DO, stride_don, qrows", "* _load_keep(DO, stride_don, qrows")
    s = s.replace("_store_rows(DK, ", "_store_stream(DK, ").replace("_store_rows(DV, ", "_store_stream(DV, ")
    if not keep: s = s.replace("_load_keep(", "_load_rows(")
    kb.write_text(s)
    if not keep:
        for f in (kc, kf): f.write_text(f.read_text().replace("= _load_keep(", "= _load_rows(").replace("(_load_keep(", "(_load_rows("))
    print(open(kb).read().count("_load_keep"), open(kb).read().count("_load_stream"))


def stream(): evict("stream", keep=False)
if __name__ == "__main__":
    for name in sys.argv[1:]: globals()[name]()
