import numpy as np
import pytest

from geomlearn.datasets import DataFormatError, geom_gcn_masks

from ..real_data import needs_data


def write_splits(folder, name, num_nodes, corrupt=None):
    splits = folder / "geom_gcn" / "splits"
    splits.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(10):
        part = rng.integers(0, 3, num_nodes)
        arrays = {"train_mask": part == 0, "val_mask": part == 1, "test_mask": part == 2}
        if corrupt and k == 4:
            corrupt(arrays)
        np.savez(splits / f"{name}_split_0.6_0.2_{k}.npz", **arrays)


def test_reads_ten_disjoint_splits(monkeypatch, tmp_path):
    write_splits(tmp_path, "texas", 20)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    train, val, test = geom_gcn_masks("texas", 20)
    assert train.shape == val.shape == test.shape == (20, 10)
    assert ((train.int() + val.int() + test.int()) == 1).all()


@pytest.mark.parametrize("corrupt, message", [
    (lambda a: a.pop("val_mask"), "expected an array 'val_mask'"),
    (lambda a: a.update(test_mask=a["test_mask"][:5]), r"'test_mask' has shape \(5,\), expected \(20,\)"),
    (lambda a: a.update(test_mask=a["train_mask"]), r"train_mask and test_mask share \d+ node\(s\)"),
    (lambda a: a.update(val_mask=a["val_mask"] & False), "val_mask is empty"),
    (lambda a: a.update(test_mask=a["test_mask"] * 2), r"test_mask should lie in 0..1, got values in 0..2"),
    (lambda a: a.update(test_mask=a["test_mask"] * 0.5), r"test_mask should hold whole numbers, got 0.5"),
])
def test_bad_files_name_the_file(monkeypatch, tmp_path, corrupt, message):
    write_splits(tmp_path, "texas", 20, corrupt)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=f"texas_split_0.6_0.2_4.npz'?: {message}"):
        geom_gcn_masks("texas", 20)


def test_real_splits_cover_each_graph():
    needs_data("geom_gcn/splits/chameleon_split_0.6_0.2_9.npz")
    train, val, test = geom_gcn_masks("chameleon", 2277)
    assert int((train.int() + val.int() + test.int()).max()) == 1


def test_unknown_graph():
    with pytest.raises(ValueError, match="name: expected one of"):
        geom_gcn_masks("karate", 34)


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_damaged_archive_names_the_file(monkeypatch, tmp_path, damage):
    write_splits(tmp_path, "texas", 20)
    path = tmp_path / "geom_gcn" / "splits" / "texas_split_0.6_0.2_7.npz"
    path.write_bytes(path.read_bytes()[:100] if damage == "truncated" else b"")
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=r"texas_split_0.6_0.2_7.npz': not a readable .npz archive"):
        geom_gcn_masks("texas", 20)
