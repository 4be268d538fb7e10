import torch

from geomlearn.gnn import NCNCPredictor, NCNPredictor, remove_target_links
from geomlearn.sparse import SparseIndex

from .layer_checks import small_graph


def undirected_graph():
    _, edge_index = small_graph(num_nodes=20, num_edges=60)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    return SparseIndex(torch.cat([edge_index, edge_index.flip(0)], 1), num_nodes=20)


def dense(index):
    adjacency = torch.zeros(index.num_dst, index.num_src, dtype=torch.bool)
    adjacency[index.dst.long(), index.src.long()] = True
    return adjacency.double()


def test_ncn_against_dense_common_neighbours():
    index = undirected_graph()
    h = torch.randn(20, 6, dtype=torch.float64)
    pairs = torch.randint(0, 20, (2, 15), generator=torch.Generator().manual_seed(1))
    model = NCNPredictor(6, 8).double().eval()
    a = dense(index)
    cn_sum = (a[pairs[0]] * a[pairs[1]]) @ h                        # rows of A multiplied, then pooled
    torch.testing.assert_close(model.common_neighbor_sum(h, index, pairs), cn_sum)
    torch.testing.assert_close(model(h, index, pairs), model.score(h, pairs, cn_sum))


def test_ncnc_completes_one_sided_neighbours_with_predicted_probabilities():
    index = undirected_graph()
    h = torch.randn(20, 6, dtype=torch.float64)
    pairs = torch.randint(0, 20, (2, 10), generator=torch.Generator().manual_seed(2))
    model = NCNCPredictor(6, 8).double().eval()
    a = dense(index)
    completed = torch.zeros(10, 6, dtype=torch.float64)
    for p, (i, j) in enumerate(pairs.t().tolist()):
        for u in range(20):
            if a[i, u] and a[j, u]:
                completed[p] += h[u]
            elif a[i, u]:
                completed[p] += torch.sigmoid(NCNPredictor.forward(model, h, index, torch.tensor([[u], [j]])))[0] * h[u]
            elif a[j, u]:
                completed[p] += torch.sigmoid(NCNPredictor.forward(model, h, index, torch.tensor([[i], [u]])))[0] * h[u]
    torch.testing.assert_close(model(h, index, pairs), model.score(h, pairs, completed))


def test_symmetric_in_the_pair_for_undirected_graphs():
    index = undirected_graph()
    h = torch.randn(20, 6)
    pairs = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(3))
    for model in (NCNPredictor(6, 8).eval(), NCNCPredictor(6, 8).eval()):
        torch.testing.assert_close(model(h, index, pairs), model(h, index, pairs.flip(0)))


def test_remove_target_links_drops_both_directions_only():
    index = undirected_graph()
    pairs = index.edge_index[:, :3].long()
    pruned = remove_target_links(index, pairs)
    kept = set(map(tuple, pruned.edge_index.t().tolist()))
    for i, j in pairs.t().tolist():
        assert (i, j) not in kept and (j, i) not in kept
    removed = index.num_edges - pruned.num_edges
    assert removed == sum(1 for e in index.edge_index.t().tolist()
                          if tuple(e) in {(i, j) for i, j in pairs.t().tolist()} | {(j, i) for i, j in pairs.t().tolist()})


def test_gradients_reach_the_node_representations():
    index = undirected_graph()
    h = torch.randn(20, 6, requires_grad=True)
    pairs = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(4))
    NCNCPredictor(6, 8)(h, index, pairs).sum().backward()
    assert h.grad is not None and h.grad.abs().sum() > 0


def test_permutation_equivariant():
    # Relabelling the nodes (features, graph and target pairs alike) leaves every pair's score unchanged.
    index = undirected_graph()
    h = torch.randn(20, 6)
    pairs = torch.randint(0, 20, (2, 12), generator=torch.Generator().manual_seed(5))
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(6))
    new_label = torch.empty_like(perm)
    new_label[perm] = torch.arange(20)
    relabelled = SparseIndex(new_label[index.edge_index.long()], num_nodes=20)
    for model in (NCNPredictor(6, 8).eval(), NCNCPredictor(6, 8).eval()):
        torch.testing.assert_close(model(h[perm], relabelled, new_label[pairs]), model(h, index, pairs))
