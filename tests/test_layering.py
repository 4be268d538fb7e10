"""The layout of DESIGN.md: the four families are siblings on the backend and never import each other; the backend
and the shared modules import no family; nothing in the library imports ``benchmarks``, ``examples`` or ``tests``.
Checked on the import statements of every source file, so that a new import across the lines fails here."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "geomlearn"
FAMILIES = {"gnn", "sheaf", "equivariant", "tensor_networks"}
OUTSIDE = {"benchmarks", "examples", "tests"}
SOURCES = sorted(PACKAGE.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved against its package)."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def part_of(path: Path) -> str:
    """The family, ``"sparse"``, ``"loader"``, ``"datasets"`` or ``"shared"`` (a module at the top)."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else "shared"


def test_the_resolver_reads_relative_imports():
    names = imported_modules(PACKAGE / "sheaf" / "recommender.py")
    assert "geomlearn.propagated_embeddings" in names and "geomlearn.sparse.SparseIndex" in names


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_source_file_keeps_to_its_layer(path):
    own = part_of(path)
    forbidden = {f"geomlearn.{family}" for family in FAMILIES - {own}} | OUTSIDE
    crossing = sorted(name for name in imported_modules(path)
                      if any(name == bad or name.startswith(bad + ".") for bad in forbidden))
    assert not crossing, f"{path.relative_to(PACKAGE)} ({own}) imports {crossing}"
