"""Sphinx configuration of geomlearn's documentation: the Markdown pages (MyST) and an API reference generated
from the docstrings (reStructuredText with Google-style sections, ``:math:`` and ``.. math::``).

Build: ``sphinx-build -W --keep-going -n docs docs/_build`` (CI does, strictly: a broken reference fails)."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geomlearn  # noqa: E402

# The benchmark results are pages of the site: their tables and plots are copied beside these pages at each build
# (docs/results is not tracked; results/ in the repository is the source).
RESULTS = Path(__file__).resolve().parent / "results"
shutil.rmtree(RESULTS, ignore_errors=True)
shutil.copytree(ROOT / "results", RESULTS, ignore=shutil.ignore_patterns(".checkpoints", "*.json"))

project = "geomlearn"
author = "The geomlearn authors"
copyright = "2026, the geomlearn authors"
release = version = geomlearn.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_inherit_docstrings = False          # torch.nn.Module.forward's docstring is not ours
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True                    # Attributes: as fields (NamedTuple fields are documented once)

# Strict references inside geomlearn; the names of other libraries (torch, torch_geometric, e3nn, numpy, ...) are
# left unresolved, as there is no network to fetch their inventories from in CI.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|torch_geometric|e3nn|numpy|np|scipy|networkx|nx|dgl|ogb|numba|triton|opt_einsum)(\..*)?"),
    (r"py:.*", r"(Tensor|Data|HeteroData|Irreps|NegativeSampling|Optional|Union|Callable|Sequence|Iterable|Iterator|Any|Path)"),
    (r"py:.*", r"(optional|callable|os\.PathLike|typing\..*|collections\..*|pathlib\..*|datetime\..*)"),
]

html_theme = "furo"
html_title = "geomlearn"
