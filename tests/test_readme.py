"""The README's Python blocks run, in order, in one namespace, as a reader would paste them (Cora from the data)."""

import re
from pathlib import Path

from .real_data import needs_data

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_has_its_tour():
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 4


def test_the_readmes_python_runs_as_written(capsys):
    needs_data("planetoid/Cora/raw")
    namespace: dict = {}
    for block in python_blocks(README.read_text(encoding="utf-8")):
        exec(compile(block, str(README), "exec"), namespace)
    # The drop-in check prints True; the torch_geometric-style layer says it runs fused, and its output's shape.
    assert capsys.readouterr().out.strip().splitlines() == ["True", "True torch.Size([2708, 1433])"]
