import shutil

import pytest
import torch

from geomlearn.datasets import DataFormatError, data_root, knowledge_graph

from ..real_data import needs_data


def test_fb15k_237_equals_torch_geometrics_reader(tmp_path):
    needs_data("kg/FB15k-237/raw/train.txt")
    from torch_geometric.datasets import RelLinkPredDataset

    data = knowledge_graph("FB15k-237")
    assert (data.num_nodes, data.num_relations) == (14_541, 237)
    assert [data[f"{s}_edge_type"].numel() for s in ("train", "valid", "test")] == [272_115, 17_535, 20_466]
    shutil.copytree(data_root() / "kg" / "FB15k-237" / "raw", tmp_path / "FB15k-237" / "raw")
    theirs = RelLinkPredDataset(str(tmp_path), "FB15k-237")[0]     # processes the copied raw files, offline
    for key in ("edge_index", "edge_type", "train_edge_index", "train_edge_type", "valid_edge_index",
                "valid_edge_type", "test_edge_index", "test_edge_type"):
        assert torch.equal(data[key], theirs[key]), key


def test_wn18rr_counts_and_reverse_edges():
    needs_data("kg/WN18RR/raw/train.txt")
    data = knowledge_graph("WN18RR")
    assert (data.num_nodes, data.num_relations) == (40_943, 11)
    assert [data[f"{s}_edge_type"].numel() for s in ("train", "valid", "test")] == [86_835, 3_034, 3_134]
    forward, backward = data.edge_index.chunk(2, dim=1)
    assert torch.equal(forward, backward.flip(0)) and torch.equal(forward, data.train_edge_index)
    assert torch.equal(data.edge_type, torch.cat([data.train_edge_type, data.train_edge_type + 11]))


def test_malformed_files_name_the_file_and_line(monkeypatch, tmp_path):
    needs_data("kg/FB15k-237/raw/train.txt")
    folder = tmp_path / "kg" / "FB15k-237" / "raw"
    shutil.copytree(data_root() / "kg" / "FB15k-237" / "raw", folder)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    (folder / "test.txt").chmod(0o644)
    lines = (folder / "test.txt").read_text().splitlines(keepends=True)
    (folder / "test.txt").write_text("".join(lines[:4] + ["/m/0nosuch\t/people/person/gender\t/m/05zppz\n"]))
    with pytest.raises(DataFormatError, match=r"test.txt' line 5: '/m/0nosuch' .* is not in the dictionaries"):
        knowledge_graph("FB15k-237")
    (folder / "test.txt").write_text("".join(lines[:2] + ["/m/027rn\t/m/06cx9\n"]))
    with pytest.raises(DataFormatError, match=r"test.txt' line 3: expected 3 non-empty tab-separated fields"):
        knowledge_graph("FB15k-237")
    with pytest.raises(ValueError, match="name: expected one of"):
        knowledge_graph("FB15k")
