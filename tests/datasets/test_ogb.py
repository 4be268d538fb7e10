"""The OGB loaders on tiny graphs the tests write in OGB's own file layout (no download)."""

import gzip

import numpy as np
import pytest
import torch

from geomlearn.datasets import DataFormatError, DataNotFoundError, ogb_link, ogb_node

from ..ogb_files import write_csv, write_tiny_arxiv, write_tiny_link_set

pytest.importorskip("ogb")


@pytest.fixture
def arxiv_like(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    return write_tiny_arxiv(tmp_path)


def test_node_set_and_its_evaluator(arxiv_like):
    data, evaluator = ogb_node("ogbn-arxiv")
    assert data.num_nodes == 6 and data.edge_index.tolist() == [[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 0, 1]]
    torch.testing.assert_close(data.x[5], torch.tensor([1.0, 1.1]))
    assert data.y[:, 0].tolist() == [3, 0, 1, 3, 2, 0] and data.node_year[:, 0].tolist()[-1] == 2015
    assert data.train_mask.tolist() == [True, True, True, False, False, False]
    assert data.test_mask.nonzero()[:, 0].tolist() == [4, 5]
    prediction = data.y.clone()
    prediction[4] = 1
    accuracy = evaluator.eval({"y_true": data.y[data.test_mask], "y_pred": prediction[data.test_mask]})["acc"]
    assert accuracy == pytest.approx(0.5)


def test_node_set_errors(arxiv_like):
    (arxiv_like / "split" / "time" / "valid.csv.gz").unlink()
    with pytest.raises(DataNotFoundError, match="valid.csv.gz"):
        ogb_node("ogbn-arxiv")
    write_csv(arxiv_like / "split" / "time" / "valid.csv.gz", [9])
    with pytest.raises(DataFormatError, match=r"valid.csv.gz': node ids should lie in 0..5, got values in 9..9"):
        ogb_node("ogbn-arxiv")
    with pytest.raises(ValueError, match="name: expected one of"):
        ogb_node("ogbn-arxive")


def test_link_set_and_its_evaluator(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    write_tiny_link_set(tmp_path, "ogbl-ddi")
    data, edges, evaluator = ogb_link("ogbl-ddi")
    # OGB adds the inverse edges of ddi itself.
    assert data.num_edges == 6 and data.is_undirected()
    assert edges["test"]["edge_neg"].tolist() == [[1, 3], [0, 3]]
    hits = evaluator.eval({"y_pred_pos": torch.tensor([0.9]), "y_pred_neg": torch.tensor([0.1, 0.95])})
    assert hits["hits@20"] == 1.0


ARXIV_DAMAGE = {
    "float edge id": (("raw", "edge.csv.gz"), [[0, 1], [1, 2.5], [2, 3], [3, 4], [4, 0], [5, 1]],
                      r"edge.csv.gz': edge ids should hold whole numbers, got 2.5"),
    "edge past the last node": (("raw", "edge.csv.gz"), [[0, 1], [1, 6], [2, 3], [3, 4], [4, 0], [5, 1]],
                                r"edge.csv.gz': edge ids should lie in 0..5, got values in 0..6"),
    "edge count": (("raw", "num-edge-list.csv.gz"), [7], r"lists 6 edges, its edge count file 7"),
    "feature rows": (("raw", "node-feat.csv.gz"), [[0.1, 0.2]] * 5, r"node-feat.csv.gz': node_feat has 5 rows, "
                                                                     r"expected 6"),
    "NaN feature": (("raw", "node-feat.csv.gz"), [[0.1, 0.2]] * 5 + [["nan", 0.3]],
                    r"node-feat.csv.gz': node_feat holds 1 NaN / infinite value\(s\), the first at \[5, 0\]"),
    "float label": (("raw", "node-label.csv.gz"), [3, 0, 1, 3.5, 2, 0], r"node-label.csv.gz': the labels should hold "
                                                                        r"whole numbers, got 3.5"),
    "label rows": (("raw", "node-label.csv.gz"), [3, 0, 1], r"node-label.csv.gz': the labels has 3 rows, expected 6"),
    "year rows": (("raw", "node_year.csv.gz"), [2010, 2011], r"node_year.csv.gz': node_year has 2 rows, expected 6"),
    "overlapping split": (("split", "time", "test.csv.gz"), [2, 5], r"train_mask and test_mask share 1 node\(s\) "
                                                                    r"\(node 2 among them\)"),
}


@pytest.mark.parametrize("damage", list(ARXIV_DAMAGE))
def test_a_damaged_node_set_is_refused_naming_the_file(arxiv_like, damage):
    where, rows, message = ARXIV_DAMAGE[damage]
    write_csv(arxiv_like.joinpath(*where), rows)
    with pytest.raises(DataFormatError, match=message):
        ogb_node("ogbn-arxiv")


@pytest.mark.parametrize("damage", ["empty split", "truncated gzip", "not gzip"])
def test_empty_and_unreadable_tables_name_the_file(arxiv_like, damage):
    path = arxiv_like / "split" / "time" / "valid.csv.gz"
    if damage == "empty split":
        path.write_bytes(gzip.compress(b""))
        message = r"valid.csv.gz': the split is empty"
    else:
        path.write_bytes(path.read_bytes()[:12] if damage == "truncated gzip" else b"3\n")
        message = r"valid.csv.gz': not a readable table of numbers"
    with pytest.raises(DataFormatError, match=message):
        ogb_node("ogbn-arxiv")


class _RunsCode:
    """Unpickling this would call ``open(marker, 'w')``: a stand-in for any code a tampered file could run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def test_link_splits_are_checked_and_loaded_without_running_code(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    folder = write_tiny_link_set(tmp_path, "ogbl-ddi")
    split = folder / "split" / "target"
    torch.save({"edge": np.array([[0, 2]]), "edge_neg": np.array([[1, 4], [0, 3]])}, split / "test.pt")
    with pytest.raises(DataFormatError, match=r"test.pt': 'edge_neg' \(node ids\) should lie in 0..3, got values "
                                              r"in 0..4"):
        ogb_link("ogbl-ddi")
    torch.save({"edge": np.zeros((0, 2), dtype=np.int64)}, split / "test.pt")
    with pytest.raises(DataFormatError, match=r"test.pt': 'edge' is empty"):
        ogb_link("ogbl-ddi")
    marker = tmp_path / "ran"
    torch.save({"edge": np.array([[0, 2]]), "payload": _RunsCode(marker)}, split / "test.pt")
    with pytest.raises(DataFormatError, match=r"test.pt': not a readable torch file of arrays"):
        ogb_link("ogbl-ddi")
    assert not marker.exists()
    (split / "valid.pt").write_bytes((split / "valid.pt").read_bytes()[:50])
    with pytest.raises(DataFormatError, match=r"valid.pt': not a readable torch file of arrays"):
        ogb_link("ogbl-ddi")


def test_a_memory_mapped_node_set_is_the_same_set_and_samples_the_same(arxiv_like):
    from geomlearn.loader import NeighborLoader

    data, _ = ogb_node("ogbn-arxiv")
    mapped, _ = ogb_node("ogbn-arxiv", memory_map=True)
    assert (arxiv_like / "geomlearn-store" / "meta.json").exists()
    assert torch.equal(mapped.x, data.x) and torch.equal(mapped.y, data.y)
    assert torch.equal(mapped.train_mask, data.train_mask) and torch.equal(mapped.node_year, data.node_year)
    assert torch.equal(mapped.edge_index.long(), data.edge_index[:, mapped.edge_perm.long()])
    again, _ = ogb_node("ogbn-arxiv", memory_map=True)                  # from the store, not the CSV files
    assert torch.equal(again.x, data.x)
    torch.manual_seed(0)
    from_memory = next(iter(NeighborLoader(data, [2, 2], batch_size=3)))
    torch.manual_seed(0)
    loader = NeighborLoader(mapped, [2, 2], batch_size=3)
    assert loader.node_sampler.index.folder == arxiv_like / "geomlearn-store"     # the store's own CSR
    from_files = next(iter(loader))
    assert torch.equal(from_files.n_id, from_memory.n_id) and torch.equal(from_files.x, from_memory.x)
    assert torch.equal(mapped.edge_perm[from_files.e_id].long(), from_memory.e_id)


def test_a_memory_mapped_link_set_keeps_its_graph_and_split(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    write_tiny_link_set(tmp_path, "ogbl-ddi")
    data, split, _ = ogb_link("ogbl-ddi")
    mapped, mapped_split, _ = ogb_link("ogbl-ddi", memory_map=True)
    assert mapped.num_edges == data.num_edges == 6
    assert torch.equal(mapped.edge_index.long(), data.edge_index[:, mapped.edge_perm.long()])
    assert torch.equal(mapped_split["test"]["edge_neg"], split["test"]["edge_neg"])
