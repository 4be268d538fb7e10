"""The peers' own test files, run against geomlearn.

``python -m benchmarks.conformance --pyg PATH [--e3nn PATH] [--tensorly PATH] [--out results/conformance]``

``PATH`` is a checkout of the peer's repository (torch_geometric, e3nn, TensorLy). Each of the files below is
copied into a temporary folder with only its imports of the classes and functions under test swapped for
geomlearn's (a swap that no longer matches the peer's file is an error, not a silent no-op) and run with
pytest, and run once more unswapped, against the peer itself. The table counts the tests that pass, fail and
are skipped per file; a test that fails against the peer too is counted apart, every other failure is matched
against :data:`KNOWN_DIFFERENCES` (what geomlearn does not cover, or does differently on purpose, each with
its reason), so a failure outside that list stands out. Nothing of the peers' code is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from geomlearn.datasets.root import write_atomically

from .report import run_header


@dataclass(frozen=True)
class PeerFile:
    """One of a peer's test files, the import lines that name what it tests, and the peer's files it needs beside
    it unchanged (a ``conftest.py`` with fixtures)."""
    peer: str
    path: str
    swaps: tuple[tuple[str, str], ...]
    support: tuple[str, ...] = ()
    package: str = ""           # the test file's package, to make its relative imports absolute
    env: tuple[tuple[str, str], ...] = ()


def e3nn_o3_with(**names: str) -> str:
    """An ``o3`` namespace that is e3nn's with the given names taken from geomlearn.equivariant."""
    imports = ", ".join(f"{ours} as _geomlearn_{name}" for name, ours in names.items())
    overrides = ", ".join(f"{name!r}: _geomlearn_{name}" for name in names)
    return ("from types import SimpleNamespace as _Namespace\nfrom e3nn import o3 as _e3nn_o3\n"
            f"from geomlearn.equivariant import {imports}\n"
            f"o3 = _Namespace(**{{**vars(_e3nn_o3), {overrides}}})")


def tensorly_decomposition_file(name: str, old: str, new: str) -> PeerFile:
    """One of TensorLy's decomposition test files: one import line swapped, its relative imports made absolute,
    run on TensorLy's pytorch backend."""
    return PeerFile("tensorly", f"tensorly/decomposition/tests/{name}", ((old, new),),
                    package="tensorly.decomposition.tests", env=(("TENSORLY_BACKEND", "pytorch"),))


PEER_FILES = (
    PeerFile("pyg", "test/nn/conv/test_gcn_conv.py", (
        ("from torch_geometric.nn import GCNConv", "from geomlearn.gnn import GCNConv"),
        ("from torch_geometric.nn.conv.gcn_conv import gcn_norm", "from geomlearn.gnn import gcn_norm"))),
    PeerFile("pyg", "test/nn/conv/test_sage_conv.py", (
        ("from torch_geometric.nn import MLPAggregation, SAGEConv",
         "from torch_geometric.nn import MLPAggregation\nfrom geomlearn.gnn import SAGEConv"),)),
    PeerFile("pyg", "test/nn/conv/test_gin_conv.py", (
        ("from torch_geometric.nn import GINConv, GINEConv", "from geomlearn.gnn import GINConv, GINEConv"),)),
    PeerFile("pyg", "test/nn/conv/test_gat_conv.py", (
        ("from torch_geometric.nn import GATConv", "from geomlearn.gnn import GATConv"),)),
    PeerFile("pyg", "test/nn/conv/test_appnp.py", (
        ("from torch_geometric.nn import APPNP", "from geomlearn.gnn import APPNP"),)),
    *(PeerFile("pyg", f"test/nn/conv/test_{stem}.py", ((f"from torch_geometric.nn import {names}",
                                                       f"from geomlearn.gnn import {names}"),))
      for stem, names in (("gatv2_conv", "GATv2Conv"), ("transformer_conv", "TransformerConv"),
                          ("cheb_conv", "ChebConv"), ("pna_conv", "PNAConv"),
                          ("res_gated_graph_conv", "ResGatedGraphConv"), ("nn_conv", "NNConv"),
                          ("rgat_conv", "RGATConv"), ("rgcn_conv", "FastRGCNConv, RGCNConv"),
                          ("hgt_conv", "HGTConv"), ("sg_conv", "SGConv"), ("gcn2_conv", "GCN2Conv"),
                          ("graph_conv", "GraphConv"))),
    PeerFile("pyg", "test/nn/conv/test_edge_conv.py", (
        ("from torch_geometric.nn import DynamicEdgeConv, EdgeConv",
         "from torch_geometric.nn import DynamicEdgeConv\nfrom geomlearn.gnn import EdgeConv"),)),
    PeerFile("e3nn", "tests/o3/cartesian_spherical_harmonics_test.py", (
        ("from e3nn import o3", e3nn_o3_with(spherical_harmonics="spherical_harmonics",
                                             SphericalHarmonics="SphericalHarmonics")),), ("tests/conftest.py",)),
    PeerFile("e3nn", "tests/o3/tensor_product_test.py", (
        ("from e3nn.o3 import TensorProduct, FullyConnectedTensorProduct, Irreps",
         "from e3nn.o3 import Irreps\nfrom geomlearn.equivariant import FullyConnectedTensorProduct, TensorProduct"),),
        ("tests/conftest.py",)),
    PeerFile("e3nn", "tests/o3/wigner_test.py", (
        ("from e3nn import o3", e3nn_o3_with(wigner_D="wigner_D")),), ("tests/conftest.py",)),
    tensorly_decomposition_file("test_cp.py", "from tensorly.metrics.factors import congruence_coefficient",
                                "from tensorly.metrics.factors import congruence_coefficient\n"
                                "from geomlearn.tensor_networks import CP, parafac"),
    tensorly_decomposition_file("test_tucker.py", "from tensorly.random import random_tucker",
                                "from tensorly.random import random_tucker\n"
                                "from geomlearn.tensor_networks import Tucker, tucker"),
    tensorly_decomposition_file("test_tt_decomposition.py",
                                "from tensorly.decomposition._tt import tensor_train, tensor_train_matrix, "
                                "TensorTrain, TensorTrainMatrix",
                                "from tensorly.decomposition._tt import tensor_train_matrix, TensorTrainMatrix\n"
                                "from geomlearn.tensor_networks import TensorTrain, tensor_train"),
    tensorly_decomposition_file("test_tr_svd.py",
                                "from tensorly.decomposition._tr_svd import tensor_ring, TensorRing",
                                "from geomlearn.tensor_networks import TensorRing, tensor_ring"),
    tensorly_decomposition_file("test_tr_als.py", "from tensorly.random import random_tr",
                                "from tensorly.random import random_tr\n"
                                "from geomlearn.tensor_networks import TensorRingALS, tensor_ring_als"),
)

TORCHSCRIPT_PRODUCT = (
    "TorchScript: the test first scripts the product with e3nn's assert_auto_jitable, which takes only modules "
    "marked with e3nn's @compile_mode (jit scripting is out of scope; deepcopy, state_dict round trips and mode "
    "uvu<v are covered by geomlearn's own tests against e3nn)")

# Failures geomlearn accepts, each with its reason: features out of scope or deliberate differences. The
# README lists them; a failure not named here is reported as unexpected. A key without parameters covers every
# parametrisation of the test; a * in a key's parameters matches any one value, a ** any run of them.
KNOWN_DIFFERENCES = {
    "test_tucker.py::test_tucker":
        "asks for the multilinear rank [2, 3, 1], which no tensor has (mode 1's rank above the product of the "
        "others'); geomlearn refuses it by name where TensorLy returns a factor with an arbitrary third column",
    "test_tt_decomposition.py::test_tensor_train":
        "asks for bonds larger than the shape holds ([1, 5, ...] for a first mode of size 3); geomlearn refuses them "
        "by name where TensorLy lowers them silently",
    "test_cp.py::test_parafac[True-*-*-*-3-4-True-*]":
        "complex tensors with orthogonalise=True, rank 4 for a rank-3 tensor: geomlearn's ALS solves the complex "
        "least-squares problem (conjugated Khatri-Rao product), which with a QR of every factor before every sweep "
        "stalls at a 4.7 % error; TensorLy's update leaves out the conjugate and reaches the tensor",
    "cartesian_spherical_harmonics_test.py::test_module":
        "TorchScript: e3nn's assert_auto_jitable scripts the module (jit scripting is out of scope)",
    **{f"tensor_product_test.py::{test}": TORCHSCRIPT_PRODUCT for test in (
        "test_jit", "test_input_weights_jit", "test_deepcopy", "test_save", "test_triu_mode",
        "test_optimizations[*-True-**]")},
    "test_gcn_conv.py::test_gcn_conv_with_decomposed_layers":
        "checks torch_geometric's generated propagate modules (jinja templates) and a message hook seeing x_j "
        "after the linear map; geomlearn's GCNConv propagates the narrower of input and output",
    "test_appnp.py::test_appnp":
        "reads `_cached_adj_t`, torch_geometric's cache for torch_sparse SparseTensor inputs (out of scope)",
    "test_sage_conv.py::test_compile_multi_aggr_sage_conv[cpu]":
        "torch.compile without graph breaks: checking edge_index when a SparseIndex is built reads index values "
        "(Tensor.item()), and propagate reads the layer's message in Python; dynamo breaks the graph at both",
}


@dataclass
class FileResult:
    peer: str
    path: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    known: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    peer_fails: list[str] = field(default_factory=list)      # fail against the peer's own code too


def known_difference(test: str):
    """The entry of :data:`KNOWN_DIFFERENCES` listing a failing test (by its id, its name without parameters, or a
    pattern): its key, or None."""
    for key in KNOWN_DIFFERENCES:
        pattern = re.escape(key).replace(r"\*\*", ".*").replace(r"\*", "[^-\\]]*")
        if key == test.split("[")[0] or re.fullmatch(pattern, test):
            return key
    return None


def absolute_imports(source: str, package: str) -> str:
    """``from ..x import y`` in a module of ``package`` as ``from <package's parent>.x import y``."""
    def absolute(match: re.Match) -> str:
        dots, rest = match.group(2), match.group(3)
        base = package.split(".")[: len(package.split(".")) - len(dots) + 1]
        return f"{match.group(1)}from {'.'.join(base + ([rest] if rest else []))} import"

    return re.sub(r"^(\s*)from (\.+)([\w.]*) import", absolute, source, flags=re.MULTILINE)


def swapped_source(peer_file: PeerFile, source: str) -> str:
    """The peer's test file with its imports swapped (relative imports made absolute first); raises when a swap's
    line is not in the file once."""
    if peer_file.package:
        source = absolute_imports(source, peer_file.package)
    lines = source.splitlines()
    for old, new in peer_file.swaps:
        hits = [i for i, line in enumerate(lines) if line == old]
        if len(hits) != 1:
            raise ValueError(f"{peer_file.path}: expected the line {old!r} once, found it {len(hits)} times (the "
                             f"peer's file changed; update benchmarks/conformance.py)")
        lines[hits[0]] = new
    return "\n".join(lines) + "\n"


def _outcomes(peer_file: PeerFile, checkout: Path, workdir: Path, source: str) -> dict[str, str]:
    """Run ``source`` as the peer's test file in ``workdir``: ``{test id: "passed" | "failed" | "skipped"}``."""
    workdir.mkdir(parents=True, exist_ok=True)
    for support in peer_file.support:
        shutil.copyfile(checkout / support, workdir / Path(support).name)
    name = Path(peer_file.path).name
    (workdir / name).write_text(source)
    report = workdir / f"{name}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", name],
                   cwd=workdir, capture_output=True, text=True, timeout=1800, env={**os.environ, **dict(peer_file.env)})
    if not report.exists():
        raise RuntimeError(f"{peer_file.path}: pytest wrote no report (the file did not run)")
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            outcome = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        else:
            outcome = "passed"
        outcomes[f"{name}::{case.get('name')}"] = outcome
    return outcomes


def run_file(peer_file: PeerFile, checkout: Path, workdir: Path) -> FileResult:
    """The file run twice, against the peer itself (relative imports made absolute, nothing swapped) and against
    geomlearn; a test that fails against the peer too is counted apart."""
    if not (checkout / peer_file.path).is_file():
        raise FileNotFoundError(f"--{peer_file.peer}: {checkout} holds no {peer_file.path} (pass a checkout's "
                                f"working tree, or at least its test folder)")
    source = (checkout / peer_file.path).read_text()
    original = absolute_imports(source, peer_file.package) if peer_file.package else source
    baseline = _outcomes(peer_file, checkout, workdir / "peer", original)
    result = FileResult(peer_file.peer, peer_file.path)
    for test, outcome in _outcomes(peer_file, checkout, workdir / "geomlearn",
                                   swapped_source(peer_file, source)).items():
        if outcome == "skipped":
            result.skipped += 1
        elif outcome == "passed":
            result.passed += 1
        elif baseline.get(test) == "failed":
            result.peer_fails.append(test)
        else:
            result.failed += 1
            (result.known if known_difference(test) else result.unexpected).append(test)
    return result


def peer_commit(checkout: Path) -> str:
    """The checkout's short commit: git's, or a ``COMMIT`` file written beside an exported test folder."""
    if (checkout / "COMMIT").is_file():
        return (checkout / "COMMIT").read_text().strip()
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(results: list[FileResult], commits: dict[str, str]) -> str:
    lines = ["Peer checkouts: " + ", ".join(f"{peer} at {commit}" for peer, commit in commits.items()), "",
             "| case | peer | passed | failed | of which known differences | skipped | fail against the peer too |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {Path(r.path).name} | {r.peer} | {r.passed} | {r.failed} | {len(r.known)} | {r.skipped} | "
                     f"{len(r.peer_fails)} |")
    known = sorted({known_difference(t) for r in results for t in r.known})
    if known:
        lines += ["", "Known differences that failed:", ""] + [f"- `{key}`: {KNOWN_DIFFERENCES[key]}" for key in known]
    peer_fails = sorted({t for r in results for t in r.peer_fails})
    if peer_fails:
        lines += ["", "Failing against the peer's own code too (its tests ahead of the installed release):", ""] + \
            [f"- `{t}`" for t in peer_fails]
    unexpected = sorted({t for r in results for t in r.unexpected})
    if unexpected:
        lines += ["", "Unexpected failures:", ""] + [f"- `{t}`" for t in unexpected]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conformance", description=__doc__.split("\n\n")[0])
    for peer in sorted({f.peer for f in PEER_FILES}):
        parser.add_argument(f"--{peer}", type=Path, default=None, help=f"a checkout of {peer}'s repository")
    parser.add_argument("--out", type=Path, default=Path("results/conformance"))
    parser.add_argument("--only", default=None, metavar="TEXT",
                        help="run only the peer files whose path contains TEXT (the result then covers only those)")
    args = parser.parse_args(argv)
    checkouts = {peer: getattr(args, peer) for peer in sorted({f.peer for f in PEER_FILES})
                 if getattr(args, peer) is not None}
    if not checkouts:
        parser.error("expected at least one peer checkout (--pyg, ...)")
    for peer, checkout in checkouts.items():
        if not checkout.is_dir():
            parser.error(f"--{peer}: expected a folder, got {str(checkout)!r}")
    results = []
    with tempfile.TemporaryDirectory(prefix="geomlearn-conformance-") as workdir:
        for peer_file in PEER_FILES:
            if peer_file.peer in checkouts and (args.only is None or args.only in peer_file.path):
                print(f"{peer_file.peer}: {peer_file.path}", file=sys.stderr)
                folder = Path(workdir) / peer_file.peer / Path(peer_file.path).stem
                folder.mkdir(parents=True)
                results.append(run_file(peer_file, checkouts[peer_file.peer], folder))
    commits = {peer: peer_commit(checkout) for peer, checkout in checkouts.items()}
    text = run_header("conformance", torch.device("cpu"), program="python -m benchmarks.conformance") + \
        markdown(results, commits)
    payload = {"peer_commits": commits, "files": [asdict(r) for r in results]}
    write_atomically(args.out / "conformance.json", lambda path: path.write_text(json.dumps(payload, indent=1)))
    write_atomically(args.out / "conformance.md", lambda path: path.write_text(text))
    print(text)
    return 1 if any(r.unexpected for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
