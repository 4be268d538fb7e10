"""Every source file compiles without warnings: an invalid escape such as ``\\o`` in a docstring's math warns
today and is a syntax error in a later Python, so a ``\\`` in a docstring needs a raw string."""

import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(path for folder in ("geomlearn", "benchmarks", "tests") for path in (ROOT / folder).rglob("*.py"))


def test_the_source_files_are_found():
    assert ROOT / "geomlearn" / "sheaf" / "laplacian.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_source_file_compiles_without_warnings(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # SyntaxWarning / DeprecationWarning become SyntaxError
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
