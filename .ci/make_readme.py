"""Build README.md from nbs/index.ipynb (nbdev_readme needs Quarto, which cannot be installed everywhere).

Runs the notebook, drops `#| hide` cells, keeps only the output of `#| echo: false` cells, and writes
README.md plus its images in README_files/.  Usage: python .ci/make_readme.py"""
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import TagRemovePreprocessor

root = Path(__file__).resolve().parent.parent
nb = nbformat.read(root / "nbs" / "index.ipynb", as_version=4)
NotebookClient(nb, resources={"metadata": {"path": str(root / "nbs")}}).execute()
for cell in nb.cells:
    if cell.cell_type != "code": continue
    tags = cell.metadata.setdefault("tags", [])
    if "#| hide" in cell.source: tags.append("remove_cell")
    elif "#| echo: false" in cell.source: tags.append("remove_input")
    elif cell.source.lstrip().startswith("#|"): cell.source = "\n".join(l for l in cell.source.splitlines() if not l.startswith("#|"))
    if "remove_cell" not in tags and cell.source.startswith("test_offsets"): tags.append("remove_cell")
exporter = MarkdownExporter()
exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"remove_cell"}, remove_input_tags={"remove_input"}), enabled=True)
body, resources = exporter.from_notebook_node(nb, resources={"output_files_dir": "README_files"})
(root / "README_files").mkdir(exist_ok=True)
for name, data in resources.get("outputs", {}).items(): (root / name).write_bytes(data)
(root / "README.md").write_text("<!-- generated from nbs/index.ipynb by .ci/make_readme.py: edit the notebook -->\n\n" + body)
print(f"README.md: {len(body)} characters, {len(resources.get('outputs', {}))} images")
