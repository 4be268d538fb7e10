"""The OGB loaders on tiny graphs the tests write in OGB's own file layout (no download)."""

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
    with pytest.raises(DataFormatError, match="valid.csv.gz' holds node ids outside 0..5"):
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
