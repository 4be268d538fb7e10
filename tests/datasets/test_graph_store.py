import json

import numpy as np
import pytest
import torch

from geomlearn.datasets import DataFormatError, DataNotFoundError, load_graph, save_graph
from geomlearn.datasets.graph_store import MappedIndex, stored_index
from geomlearn.loader import NeighborLoader
from geomlearn.sparse import SparseIndex, spmm

from ..loader.graphs import attributed_graph


def graph(seed: int = 0):
    """40 nodes, 300 random edges (self loops and duplicates among them), node and edge attributes."""
    return attributed_graph(num_nodes=40, num_edges=300, seed=seed)


def test_a_stored_graph_is_the_same_graph_memory_mapped(tmp_path):
    data = graph()
    save_graph(data, tmp_path)
    stored, index = load_graph(tmp_path)
    assert isinstance(np.load(tmp_path / "x.npy", mmap_mode="r"), np.memmap)
    assert torch.equal(stored.x, data.x) and torch.equal(stored.y, data.y)
    perm = stored.edge_perm.long()                                    # stored edges: grouped by target
    assert torch.equal(stored.edge_index.long(), data.edge_index[:, perm])
    assert torch.equal(stored.edge_attr, data.edge_attr[perm])
    assert bool((stored.edge_index[1][1:] >= stored.edge_index[1][:-1]).all())
    assert index.edge_index.data_ptr() == stored.edge_index.data_ptr()                 # no copy
    x = torch.randn(40, 3)
    torch.testing.assert_close(spmm(index, x), spmm(SparseIndex.from_data(data), x))


def test_the_memory_mapped_path_gives_the_same_batches_as_the_in_memory_one(tmp_path):
    data = graph(1)
    save_graph(data, tmp_path)
    stored, index = load_graph(tmp_path)
    torch.manual_seed(0)
    in_memory = list(NeighborLoader(data, [4, 3], batch_size=8, shuffle=True))
    torch.manual_seed(0)
    mapped = list(NeighborLoader(stored, [4, 3], batch_size=8, shuffle=True))
    assert isinstance(index, MappedIndex) and NeighborLoader(stored, [4, 3]).node_sampler.index is index
    for ours, theirs in zip(mapped, in_memory):
        assert torch.equal(ours.n_id, theirs.n_id) and torch.equal(ours.x, theirs.x)
        assert torch.equal(ours.edge_index, theirs.edge_index) and torch.equal(ours.edge_attr, theirs.edge_attr)
        assert torch.equal(stored.edge_perm[ours.e_id].long(), theirs.e_id)


def test_a_loader_samples_a_stored_graph_through_its_index_only_while_its_edges_are_the_stored_ones(tmp_path):
    data = graph(5)
    save_graph(data, tmp_path)
    stored, index = load_graph(tmp_path)
    assert stored_index(stored) is index
    stored.edge_index = stored.edge_index.flip(0)                     # another graph now: build its own index
    assert stored_index(stored) is None
    sampler_index = NeighborLoader(stored, [2]).node_sampler.index
    assert not isinstance(sampler_index, MappedIndex)
    assert torch.equal(sampler_index.edge_index, stored.edge_index)
    assert stored_index(data) is None                                 # never stored


def test_an_incomplete_or_damaged_store_is_refused(tmp_path):
    data = graph(2)
    save_graph(data, tmp_path)
    (tmp_path / "meta.json").unlink()                                  # as after a write that did not finish
    with pytest.raises(DataNotFoundError, match="meta.json' does not exist"):
        load_graph(tmp_path)
    save_graph(data, tmp_path)
    ptr = np.load(tmp_path / "ptr.npy")
    ptr[5], ptr[6] = ptr[6], ptr[5]
    np.save(tmp_path / "ptr.npy", ptr)
    with pytest.raises(DataFormatError, match=r"ptr.npy': expected offsets rising from 0 to 300"):
        load_graph(tmp_path)
    save_graph(data, tmp_path)
    edges = np.load(tmp_path / "edge_index.npy")
    edges[1, 0] += 1
    np.save(tmp_path / "edge_index.npy", edges)
    with pytest.raises(DataFormatError, match=r"its targets do not follow the offsets"):
        load_graph(tmp_path)
    save_graph(data, tmp_path)
    (tmp_path / "x.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:100])
    with pytest.raises(DataFormatError, match=r"x.npy': not a readable .npy file"):
        load_graph(tmp_path)
    save_graph(data, tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text())
    (tmp_path / "meta.json").write_text(json.dumps(dict(meta, num_nodes=41)))
    with pytest.raises(DataFormatError, match=r"ptr.npy': the offsets has 41 rows, expected 42"):
        load_graph(tmp_path)


def test_an_attribute_neither_per_node_nor_per_edge_is_refused(tmp_path):
    data = graph(3)
    data.thing = torch.zeros(7)
    with pytest.raises(ValueError, match=r"data: attribute 'thing' of shape \[7\] is neither per node"):
        save_graph(data, tmp_path)


def test_a_mapped_index_travels_to_workers_as_its_folder_and_the_features_stay(tmp_path):
    import pickle

    data = graph(4)
    data.x = torch.randn(40, 2000)                                     # 320 kB of features
    save_graph(data, tmp_path)
    stored, index = load_graph(tmp_path)
    sent = pickle.dumps(index)
    assert len(sent) < 1000                                            # the folder, not the edges
    again = pickle.loads(sent)
    assert torch.equal(again.edge_index, index.edge_index) and torch.equal(again.csr().ptr, index.csr().ptr)
    loader = NeighborLoader(stored, [3, 2], batch_size=8, num_workers=2)
    assert len(pickle.dumps(loader)) < 50_000                          # no features, no edges
    batches = list(loader)
    seeds = torch.cat([b.n_id[: b.batch_size] for b in batches])
    assert sorted(seeds.tolist()) == list(range(40))
    for batch in batches:
        assert torch.equal(batch.x, data.x[batch.n_id])
