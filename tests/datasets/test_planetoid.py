import pickle
import shutil

import numpy as np
import pytest
import torch

from geomlearn.datasets import DataFormatError, DataNotFoundError, planetoid
from geomlearn.datasets.geom_gcn import geom_gcn_masks

from ..real_data import needs_data


@pytest.mark.parametrize("name, nodes, edges, features, classes, train", [
    ("Cora", 2708, 10556, 1433, 7, 140), ("CiteSeer", 3327, 9104, 3703, 6, 120)])
def test_public_split_statistics(name, nodes, edges, features, classes, train):
    needs_data(f"planetoid/{name}/raw")
    data = planetoid(name)
    assert (data.num_nodes, data.num_edges, data.num_features) == (nodes, edges, features)
    assert int(data.y.max()) + 1 == classes
    assert (int(data.train_mask.sum()), int(data.val_mask.sum()), int(data.test_mask.sum())) == (train, 500, 1000)
    assert not (data.train_mask & data.test_mask).any()
    assert data.is_undirected()


def test_geom_gcn_splits():
    needs_data("planetoid/Cora/raw", "geom_gcn/splits")
    data = planetoid("cora", split="geom-gcn")
    assert data.train_mask.shape == (2708, 10)
    covered = data.train_mask.int() + data.val_mask.int() + data.test_mask.int()
    assert int(covered.max()) == 1
    # 48 % of the split nodes train (not the 60 % in the file names); Cora's splits leave about 8 % of nodes out.
    assert 0.47 < data.train_mask.sum() / covered.sum() < 0.49


def test_citeseer_unlabelled_nodes_leave_the_geom_gcn_splits():
    needs_data("planetoid/CiteSeer/raw", "geom_gcn/splits")
    data = planetoid("CiteSeer", split="geom-gcn")
    unlabelled = ~data.labelled_mask
    # the 15 isolated nodes the raw files leave out of the test range: no features, filled in with class 0
    assert int(unlabelled.sum()) == 15
    assert not data.x[unlabelled].any() and not data.y[unlabelled].any()
    assert data.x[data.labelled_mask].sum(dim=1).gt(0).all()
    files = geom_gcn_masks("citeseer", data.num_nodes)
    assert files[2][unlabelled].any()                  # the split files do put some of them in the test sets
    for mask, in_file in zip((data.train_mask, data.val_mask, data.test_mask), files):
        assert torch.equal(mask, in_file & data.labelled_mask[:, None])
    assert planetoid("Cora").labelled_mask.all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="name: expected one of"):
        planetoid("Pubmedd")
    with pytest.raises(ValueError, match="split: expected 'public' or 'geom-gcn'"):
        planetoid("Cora", split="random")


@pytest.mark.parametrize("name", ["Cora", "CiteSeer"])
def test_the_graph_is_torch_geometrics(name):
    needs_data(f"planetoid/{name}/raw")
    from torch_geometric.io.planetoid import read_planetoid_data

    from geomlearn.datasets import data_root

    ours = planetoid(name)
    theirs = read_planetoid_data(str(data_root() / "planetoid" / name / "raw"), name.lower())
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(getattr(ours, key), getattr(theirs, key)), key


class _RunsCode:
    """Unpickling this would call ``open(marker, 'w')``: a stand-in for any code a tampered file could run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.fixture
def cora_copy(monkeypatch, tmp_path):
    needs_data("planetoid/Cora/raw")
    from geomlearn.datasets import data_root
    source = data_root() / "planetoid" / "Cora" / "raw"
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    with pytest.raises(DataNotFoundError, match="ind.cora.x"):
        planetoid("Cora")
    raw = tmp_path / "planetoid" / "Cora" / "raw"
    shutil.copytree(source, raw)
    for path in raw.iterdir():
        path.chmod(0o644)
    return raw


def test_damaged_files_name_the_file_and_what_is_wrong(cora_copy, tmp_path):
    raw = cora_copy
    raw.joinpath("ind.cora.graph").write_bytes(b"not a pickle")
    with pytest.raises(DataFormatError, match=r"ind.cora.graph': not a readable pickle"):
        planetoid("Cora")
    marker = tmp_path / "ran"
    raw.joinpath("ind.cora.graph").write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(DataFormatError, match=r"ind.cora.graph': refers to (io|builtins)\.open, which a data file"):
        planetoid("Cora")
    assert not marker.exists()
    raw.joinpath("ind.cora.graph").write_bytes(pickle.dumps({0: [1], 1: [0, 2708]}))
    with pytest.raises(DataFormatError, match=r"ind.cora.graph': the graph's node ids should lie in 0..2707"):
        planetoid("Cora")


@pytest.mark.parametrize("edit, message", [
    (lambda lines: ["-" + lines[0]] + lines[1:], r"test.index': the test indices should start after the 1708 nodes "
                                                 r"of allx, at 1708; got a smallest index of -"),
    (lambda lines: [lines[0] + ".5"] + lines[1:], r"test.index': the test indices should hold whole numbers"),
    (lambda lines: lines[:-1], r"test.index': the test indices has 999 rows, expected 1000"),
    (lambda lines: [lines[1]] + lines[1:], r"test.index': a test index appears twice"),
    (lambda lines: [], r"test.index': the test indices is empty"),
])
def test_a_damaged_test_index_is_refused(cora_copy, edit, message):
    path = cora_copy / "ind.cora.test.index"
    path.write_text("\n".join(edit(path.read_text().split())) + "\n")
    with pytest.raises(DataFormatError, match=message):
        planetoid("Cora")


def test_non_finite_features_are_refused(cora_copy):
    import scipy.sparse as sp

    dense = np.zeros((1000, 1433), dtype=np.float32)           # tx: one row per test node of Cora
    dense[3, 5] = np.nan
    (cora_copy / "ind.cora.tx").write_bytes(pickle.dumps(sp.csr_matrix(dense)))
    with pytest.raises(DataFormatError, match=r"ind.cora.tx': the matrix holds 1 NaN / infinite value\(s\), the "
                                              r"first at \[3, 5\]"):
        planetoid("Cora")
