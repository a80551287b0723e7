"""Give the figure notebooks' docs pages their figures and tables.

Notebooks are stored without outputs. This runs each figure notebook in nbs/ (so it reads nbs/results/), leaving
out cells flagged with a test flag of settings.ini (`#| slow`, `#| cuda`) or `#| eval: false`, and copies the
outputs into its processed copy in _proc/ (cells matched by id), which nbconvert then turns into HTML.

Usage, from the repository root:
  python .ci/execute_docs.py          # after nbdev's proc_nbs, before nbconvert
  python .ci/execute_docs.py --check  # after nbconvert: fail unless every figure page in _html/ holds an image
"""
import configparser
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

root = Path(__file__).resolve().parent.parent
nbs, proc, html = root / "nbs", root / "_proc", root / "_html"
FIGURES = sorted(p.stem for p in nbs.glob("*_fig_*.ipynb")) + ["00_offsets", "07f_bench", "index"]  # pages that must show an image
TABLES = ["07c_results", "16_claims"]  # pages of tables: executed, no image required


def skip_flags() -> set:
    "The flags whose cells stay unexecuted: settings.ini's tst_flags and `eval: false`."
    cfg = configparser.ConfigParser(); cfg.read(root / "settings.ini")
    return set(cfg["DEFAULT"].get("tst_flags", "").split()) | {"eval: false", "eval:false"}


def skipped(cell, flags: set) -> bool:
    "Whether a code cell carries one of `flags` in its `#|` directives."
    directives = [line[2:].strip() for line in cell.source.splitlines() if line.startswith("#|")]
    return any(d in flags or d.split()[:1] and d.split()[0] in flags for d in directives)


def execute(name: str, flags: set) -> int:
    "Run nbs/<name>.ipynb in nbs/ and copy its outputs into _proc/<name>.ipynb; the number of cells given outputs."
    nb = nbformat.read(nbs / f"{name}.ipynb", as_version=4)
    kept = {}
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        if skipped(cell, flags): cell.source = ""  # run nothing; its outputs stay empty
        else: kept[cell.get("id")] = cell
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(nbs)}}).execute()
    target = nbformat.read(proc / f"{name}.ipynb", as_version=4)
    filled = 0
    for cell in target.cells:
        if cell.cell_type == "code" and cell.get("id") in kept and kept[cell["id"]].outputs:
            cell.outputs = kept[cell["id"]].outputs; filled += 1
    nbformat.write(target, proc / f"{name}.ipynb")
    return filled


def check() -> int:
    "1 (with a message per page) unless every figure page holds an embedded image."
    bad = [n for n in FIGURES if 'src="data:image/png;base64' not in (html / f"{n}.html").read_text()]
    for n in bad: print(f"FAIL: docs page _html/{n}.html holds no figure", file=sys.stderr)
    if not bad: print(f"docs figures: every one of {len(FIGURES)} figure pages holds an image")
    return 1 if bad else 0


def main(argv) -> int:
    if "--check" in argv: return check()
    flags = skip_flags()
    for name in FIGURES + TABLES:
        t0 = time.perf_counter()
        print(f"{name}: {execute(name, flags)} cells with outputs ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__": sys.exit(main(sys.argv[1:]))
