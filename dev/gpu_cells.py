"""Run the notebooks that hold `#| cuda` cells on a GPU machine without nbdev: every code cell in order (all
but `slow` and `eval: false` ones), as `pytest --nb-flags cuda` would, in plain Python with torch and triton.

    python dev/gpu_cells.py                      # the notebooks below, each in its own process
    python dev/gpu_cells.py 04_model 03_attention

fastcore (for `fastcore.test`) comes from the wheel `dev/gpu_session.py prepare` packs into .device_data/;
nbdev's `show_doc` and `nbdev_export` are stubbed. Each cell is written to a file before it runs, because
Triton reads a kernel's source back. SKIP_CUDA=1 leaves the `#| cuda` cells out (to try this on a CPU)."""
import builtins, json, os, subprocess, sys, time, types
from pathlib import Path

NOTEBOOKS = ["04_model", "03_attention", "02b_decode", "02a_kernel_backward", "03a_flex", "03b_hf", "06_train", "07f_bench", "08a_faults"]
ROOT = Path(__file__).resolve().parent.parent
LIB, CELLS = ROOT / ".device_data/pylib", ROOT / ".device_data/cells"


def code_cells(notebook: Path):
    "The source of each code cell that a GPU test run executes (IPython magics and shell lines dropped)."
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] != "code": continue
        lines = "".join(cell["source"]).splitlines()
        flags = " ".join(l for l in lines if l.startswith("#|"))
        if "slow" in flags or "eval: false" in flags or (os.environ.get("SKIP_CUDA") and "cuda" in flags): continue
        yield "\n".join(l for l in lines if not l.lstrip().startswith(("%", "!")))


def stub_nbdev():
    nbdev, showdoc = types.ModuleType("nbdev"), types.ModuleType("nbdev.showdoc")
    showdoc.show_doc = lambda *a, **k: None
    nbdev.showdoc, nbdev.nbdev_export = showdoc, lambda *a, **k: None
    sys.modules.update({"nbdev": nbdev, "nbdev.showdoc": showdoc})
    builtins.display = lambda *a, **k: None


def run_notebook(name: str):
    "Execute one notebook's cells in one namespace, from nbs/ as the notebooks expect; raise at the first failure."
    sys.path[:0] = [str(LIB), str(ROOT)]
    stub_nbdev()
    CELLS.mkdir(parents=True, exist_ok=True)
    os.chdir(ROOT / "nbs")
    namespace = {"__name__": "__main__"}
    for i, source in enumerate(code_cells(Path(f"{name}.ipynb"))):
        path = CELLS / f"{name}_cell{i}.py"
        path.write_text(source)
        try: exec(compile(source, str(path), "exec"), namespace)
        except Exception:
            print(f"--- {name}, cell {i}:\n{source[:800]}", flush=True)
            raise


def install_fastcore():
    if LIB.exists(): return
    wheels = [str(p) for p in (ROOT / ".device_data").glob("fastcore-*.whl")]
    if not wheels: raise SystemExit("no fastcore wheel in .device_data/: run `python dev/gpu_session.py prepare` here first")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(LIB), *wheels], check=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one": run_notebook(sys.argv[2]); sys.exit()
    install_fastcore()
    failed = []
    for name in sys.argv[1:] or NOTEBOOKS:
        start = time.time()
        ok = subprocess.run([sys.executable, __file__, "--one", name]).returncode == 0
        print(f"gpu cells {name}: {'ok' if ok else 'FAILED'} in {time.time() - start:.0f} s", flush=True)
        if not ok: failed.append(name)
    sys.exit(1 if failed else 0)
