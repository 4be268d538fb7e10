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


def test_bad_file_names_the_file(monkeypatch, tmp_path):
    folder = tmp_path / "heterophilous"
    folder.mkdir()
    masks = np.zeros((10, 4), dtype=bool)
    np.savez(folder / "texas.npz", node_features=np.zeros((4, 3)), node_labels=np.zeros(4, dtype=int),
             edges=np.array([[0, 9]]), train_masks=masks, val_masks=masks, test_masks=masks)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match="texas.npz': edges hold node ids outside 0..3"):
        heterophilous("texas")
    np.savez(folder / "texas.npz", node_features=np.zeros((4, 3)))
    with pytest.raises(DataFormatError, match=r"texas.npz': missing array\(s\) \['node_labels'"):
        heterophilous("texas")
    with pytest.raises(ValueError, match="name: expected one of"):
        heterophilous("karate")
