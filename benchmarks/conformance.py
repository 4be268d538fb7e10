"""The peers' own test files, run against geomlearn.

``python -m benchmarks.conformance --pyg PATH [--e3nn PATH] [--tensorly PATH] [--out results/conformance]``

``PATH`` is a checkout of the peer's repository (torch_geometric, e3nn, TensorLy). Each of the files below is
copied into a temporary folder with only its imports of the classes and functions under test swapped for
geomlearn's (a swap that no longer matches the peer's file is an error, not a silent no-op) and run with
pytest. The table counts the tests that pass, fail and are skipped per file; every failure is matched
against :data:`KNOWN_DIFFERENCES` (what geomlearn does not cover, or does differently on purpose, each with
its reason), so a failure outside that list stands out. Nothing of the peers' code is kept.
"""

from __future__ import annotations

import argparse
import json
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


def e3nn_o3_with(**names: str) -> str:
    """An ``o3`` namespace that is e3nn's with the given names taken from geomlearn.equivariant."""
    imports = ", ".join(f"{ours} as _geomlearn_{name}" for name, ours in names.items())
    overrides = ", ".join(f"{name!r}: _geomlearn_{name}" for name in names)
    return ("from types import SimpleNamespace as _Namespace\nfrom e3nn import o3 as _e3nn_o3\n"
            f"from geomlearn.equivariant import {imports}\n"
            f"o3 = _Namespace(**{{**vars(_e3nn_o3), {overrides}}})")


PEER_FILES = (
    PeerFile("pyg", "test/nn/conv/test_gcn_conv.py", (
        ("from torch_geometric.nn import GCNConv", "from geomlearn.gnn import GCNConv"),
        ("from torch_geometric.nn.conv.gcn_conv import gcn_norm", "from geomlearn.gnn import gcn_norm"))),
    PeerFile("pyg", "test/nn/conv/test_sage_conv.py", (
        ("from torch_geometric.nn import MLPAggregation, SAGEConv",
         "from torch_geometric.nn import MLPAggregation\nfrom geomlearn.gnn import SAGEConv"),)),
    PeerFile("pyg", "test/nn/conv/test_gin_conv.py", (
        ("from torch_geometric.nn import GINConv, GINEConv",
         "from torch_geometric.nn import GINEConv\nfrom geomlearn.gnn import GINConv"),)),
    PeerFile("pyg", "test/nn/conv/test_gat_conv.py", (
        ("from torch_geometric.nn import GATConv", "from geomlearn.gnn import GATConv"),)),
    PeerFile("pyg", "test/nn/conv/test_appnp.py", (
        ("from torch_geometric.nn import APPNP", "from geomlearn.gnn import APPNP"),)),
    PeerFile("e3nn", "tests/o3/cartesian_spherical_harmonics_test.py", (
        ("from e3nn import o3", e3nn_o3_with(spherical_harmonics="spherical_harmonics",
                                             SphericalHarmonics="SphericalHarmonics")),), ("tests/conftest.py",)),
    PeerFile("e3nn", "tests/o3/wigner_test.py", (
        ("from e3nn import o3", e3nn_o3_with(wigner_D="wigner_D")),), ("tests/conftest.py",)),
)

# Failures geomlearn accepts, each with its reason: features out of scope or deliberate differences. The
# README lists them; a failure not named here is reported as unexpected. A key without parameters covers every
# parametrisation of the test.
KNOWN_DIFFERENCES = {
    "cartesian_spherical_harmonics_test.py::test_module":
        "TorchScript: e3nn's assert_auto_jitable scripts the module (jit scripting is out of scope)",
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


def known_difference(test: str):
    """The reason listed for a failing test (by its id, or its name without parameters), or None."""
    return KNOWN_DIFFERENCES.get(test) or KNOWN_DIFFERENCES.get(test.split("[")[0])


def swapped_source(peer_file: PeerFile, source: str) -> str:
    """The peer's test file with its imports swapped; raises when a swap's line is not in the file once."""
    lines = source.splitlines()
    for old, new in peer_file.swaps:
        hits = [i for i, line in enumerate(lines) if line == old]
        if len(hits) != 1:
            raise ValueError(f"{peer_file.path}: expected the line {old!r} once, found it {len(hits)} times (the "
                             f"peer's file changed; update benchmarks/conformance.py)")
        lines[hits[0]] = new
    return "\n".join(lines) + "\n"


def run_file(peer_file: PeerFile, checkout: Path, workdir: Path) -> FileResult:
    if not (checkout / peer_file.path).is_file():
        raise FileNotFoundError(f"--{peer_file.peer}: {checkout} holds no {peer_file.path} (pass a checkout's "
                                f"working tree, or at least its test folder)")
    source = (checkout / peer_file.path).read_text()
    for support in peer_file.support:
        shutil.copyfile(checkout / support, workdir / Path(support).name)
    name = Path(peer_file.path).name
    target = workdir / name
    target.write_text(swapped_source(peer_file, source))
    report = workdir / f"{name}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", name],
                   cwd=workdir, capture_output=True, text=True, timeout=1800)
    if not report.exists():
        raise RuntimeError(f"{peer_file.path}: pytest wrote no report (the file did not run)")
    result = FileResult(peer_file.peer, peer_file.path)
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test = f"{name}::{case.get('name')}"
        if case.find("skipped") is not None:
            result.skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
            (result.known if known_difference(test) else result.unexpected).append(test)
        else:
            result.passed += 1
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
             "| case | peer | passed | failed | skipped | failures listed as known differences |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {Path(r.path).name} | {r.peer} | {r.passed} | {r.failed} | {r.skipped} | {len(r.known)} |")
    known = sorted({t.split("[")[0] if t not in KNOWN_DIFFERENCES else t for r in results for t in r.known})
    if known:
        lines += ["", "Known differences that failed:", ""] + [f"- `{t}`: {known_difference(t)}" for t in known]
    unexpected = sorted({t for r in results for t in r.unexpected})
    if unexpected:
        lines += ["", "Unexpected failures:", ""] + [f"- `{t}`" for t in unexpected]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.conformance", description=__doc__.split("\n\n")[0])
    for peer in sorted({f.peer for f in PEER_FILES}):
        parser.add_argument(f"--{peer}", type=Path, default=None, help=f"a checkout of {peer}'s repository")
    parser.add_argument("--out", type=Path, default=Path("results/conformance"))
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
            if peer_file.peer in checkouts:
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
