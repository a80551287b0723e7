"""pytest runs every notebook in `nbs/` through nbdev's own test runner, one test per notebook, each in its own process.

Cells flagged with a `tst_flags` flag from settings.ini (`#| cuda`, `#| slow`) are skipped unless
named with `--nb-flags`, e.g. `pytest --nb-flags "cuda slow"` on a GPU machine.
Without a GPU, Triton kernels run in its CPU interpreter (`TRITON_INTERPRET=1`).
After the tests, each notebook's wall time is listed, slowest first, with the total."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

NBS = Path(__file__).parent / "nbs"


def _has_cuda():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


if not _has_cuda():
    os.environ.setdefault("TRITON_INTERPRET", "1")  # must be set before any @triton.jit runs


def pytest_addoption(parser):
    parser.addoption("--nb-flags", default="", help="space-separated test flags to run (e.g. 'cuda slow')")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".ipynb" and NBS in file_path.parents and not file_path.name.startswith("_"):
        if ".ipynb_checkpoints" not in file_path.parts:
            return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.stem)


RUN_ONE = """import sys
from nbdev.config import get_config
from pathlib import Path
from nbdev.test import test_nb
ok, _ = test_nb(Path(sys.argv[1]), skip_flags=get_config().tst_flags.split(), force_flags=sys.argv[2].split(), showerr=True)
sys.exit(0 if ok else 1)"""


class NotebookItem(pytest.Item):
    def runtest(self):
        # each notebook in a fresh interpreter, as nbdev_test does: a notebook that defines what the package
        # defines (a registered operator, say) must not replace the package's definition for the notebooks after it
        force = self.config.getoption("--nb-flags")
        done = subprocess.run([sys.executable, "-c", RUN_ONE, str(self.path), force], capture_output=True, text=True)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            raise NotebookFailure(self.path.name)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailure):
            return f"notebook {excinfo.value} failed: the traceback is printed above (captured stderr)"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"notebook: {self.name}"


class NotebookFailure(Exception):
    pass


def notebook_times(stats: dict) -> dict:
    "Seconds each notebook's test took (setup, run and teardown), from the terminal reporter's `stats`."
    times = {}
    for report in (r for reports in stats.values() for r in reports if getattr(r, "when", None)):
        path = report.nodeid.split("::")[0]
        if path.endswith(".ipynb"): times[path] = times.get(path, 0.0) + report.duration
    return times


def pytest_terminal_summary(terminalreporter):
    "List each notebook's test time, slowest first, and the total."
    times = notebook_times(terminalreporter.stats)
    if not times: return
    terminalreporter.section("notebook times")
    for path, seconds in sorted(times.items(), key=lambda kv: -kv[1]): terminalreporter.write_line(f"{seconds:8.1f} s  {path}")
    terminalreporter.write_line(f"{sum(times.values()):8.1f} s  total ({len(times)} notebooks)")
