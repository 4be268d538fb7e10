import numpy as np
import pytest

from geomlearn.datasets import DataFormatError, geom_gcn_masks, heterophilous

from ..real_data import needs_data


@pytest.mark.parametrize("name, nodes, classes", [("texas", 183, 5), ("squirrel", 5201, 5), ("minesweeper", 10000, 2)])
def test_real_graphs(name, nodes, classes):
    needs_data(f"heterophilous/{name}.npz")
    data = heterophilous(name)
    assert data.num_nodes == nodes and int(data.y.max()) + 1 == classes
    assert data.train_mask.shape == (nodes, 10)
    assert data.is_undirected()


def test_geom_gcn_versions_carry_the_geom_gcn_splits():
    needs_data("heterophilous/chameleon.npz", "geom_gcn/splits/chameleon_split_0.6_0.2_0.npz")
    data = heterophilous("chameleon")
    train, _, test = geom_gcn_masks("chameleon", data.num_nodes)
    assert (data.train_mask == train).all() and (data.test_mask == test).all()


def write_graph(folder, **changes):
    """A valid 6-node graph with two splits in the npz layout, with ``changes`` applied to its arrays."""
    train = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0]], dtype=bool)
    arrays = dict(node_features=np.arange(18.0).reshape(6, 3), node_labels=np.array([0, 1, 0, 1, 2, 2]),
                  edges=np.array([[0, 1], [1, 2], [4, 5]]), train_masks=train, val_masks=np.roll(train, 2, axis=1),
                  test_masks=np.roll(train, 4, axis=1))
    arrays.update(changes)
    folder.mkdir(exist_ok=True)
    np.savez(folder / "texas.npz", **arrays)
    return arrays


def test_a_small_graph_in_the_layout_reads_back(monkeypatch, tmp_path):
    arrays = write_graph(tmp_path / "heterophilous")
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    data = heterophilous("texas")
    assert data.x.tolist() == arrays["node_features"].tolist() and data.y.tolist() == [0, 1, 0, 1, 2, 2]
    assert data.is_undirected() and data.num_edges == 6
    assert data.train_mask.shape == (6, 2) and data.test_mask[:, 0].tolist() == [0, 0, 0, 0, 1, 1]


@pytest.mark.parametrize("changes, message", [
    ({"edges": np.array([[0, 9]])}, r"edges should lie in 0..5, got values in 0..9"),
    ({"edges": np.array([[0, 1.5]])}, r"edges should hold whole numbers, got 1.5 at \[0, 1\]"),
    ({"node_labels": np.array([0, 1, 0, 1, 2.7, 2])}, r"node_labels should hold whole numbers, got 2.7 at \[4\]"),
    ({"node_labels": np.array([0, 1, 0, -1, 2, 2])}, r"node_labels should be classes >= 0, got -1"),
    ({"node_features": np.full((6, 3), np.nan)}, r"node_features holds 18 NaN / infinite value\(s\), the first at "
                                                 r"\[0, 0\]"),
    ({"test_masks": np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0]], dtype=bool)},
     r"train_mask and test_mask share 4 node\(s\)"),
    ({"val_masks": np.zeros((2, 6), dtype=bool)}, r"val_mask is empty in split 0"),
    ({"val_masks": np.full((2, 6), 2)}, r"val_masks should lie in 0..1, got values in 2..2"),
    ({"val_masks": np.zeros((3, 6), dtype=bool)}, r"the masks hold different numbers of splits"),
    ({"node_labels": np.zeros(5, dtype=int)}, r"expected node_labels \[6\] and edges \[E, 2\]"),
])
def test_a_damaged_file_is_refused_naming_the_file_and_field(monkeypatch, tmp_path, changes, message):
    write_graph(tmp_path / "heterophilous", **changes)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=f"texas.npz': {message}"):
        heterophilous("texas")


def test_missing_arrays_a_truncated_file_and_a_bad_name(monkeypatch, tmp_path):
    folder = tmp_path / "heterophilous"
    folder.mkdir()
    np.savez(folder / "texas.npz", node_features=np.zeros((4, 3)))
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=r"texas.npz': missing array\(s\) \['node_labels'"):
        heterophilous("texas")
    write_graph(folder)
    (folder / "texas.npz").write_bytes((folder / "texas.npz").read_bytes()[:-60])
    with pytest.raises(DataFormatError, match=r"texas.npz': not a readable .npz archive"):
        heterophilous("texas")
    with pytest.raises(ValueError, match="name: expected one of"):
        heterophilous("karate")
