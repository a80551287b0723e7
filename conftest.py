"""pytest runs every notebook in `nbs/` through nbdev's own test runner, one test per notebook.

Cells flagged with a `tst_flags` flag from settings.ini (`#| cuda`, `#| slow`) are skipped unless
named with `--nb-flags`, e.g. `pytest --nb-flags "cuda slow"` on a GPU machine.
Without a GPU, Triton kernels run in its CPU interpreter (`TRITON_INTERPRET=1`)."""
import os
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


class NotebookItem(pytest.Item):
    def runtest(self):
        from nbdev.config import get_config
        from nbdev.test import test_nb
        skip = get_config().tst_flags.split()
        force = self.config.getoption("--nb-flags").split()
        ok, _ = test_nb(self.path, skip_flags=skip, force_flags=force, showerr=True)
        if not ok:
            raise NotebookFailure(self.path.name)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailure):
            return f"notebook {excinfo.value} failed: the traceback is printed above (captured stderr)"
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"notebook: {self.name}"


class NotebookFailure(Exception):
    pass
