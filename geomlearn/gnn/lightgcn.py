r"""LightGCN (He et al., SIGIR 2020): collaborative filtering by parameter-free propagation of embeddings."""

from __future__ import annotations

from ..propagated_embeddings import PropagatedEmbeddings
from ..sparse import SparseIndex, spmm
from .normalization import symmetric_normalization


class LightGCN(PropagatedEmbeddings):
    r"""Embeddings of all nodes of a user-item graph, propagated without weights or nonlinearities:

    .. math::
        E^{(k+1)} = D^{-1/2} A D^{-1/2} E^{(k)}, \qquad E = \sum_{k=0}^{K} \alpha_k E^{(k)}, \qquad
        \hat y_{ui} = \langle e_u, e_i \rangle,

    with :math:`E^{(0)}` the learned embedding table and :math:`A` the symmetric bipartite adjacency (users
    and items numbered in one node set). The API follows torch_geometric's ``LightGCN``:
    :meth:`~geomlearn.propagated_embeddings.PropagatedEmbeddings.get_embedding`, ``forward(edge_index,
    edge_label_index)`` for the scores of node pairs, and
    :meth:`~geomlearn.propagated_embeddings.PropagatedEmbeddings.recommendation_loss` (BPR with :math:`L_2` on the pairs' initial embeddings).

    Args:
        num_nodes, embedding_dim, num_layers, alpha: as
            :class:`~geomlearn.propagated_embeddings.PropagatedEmbeddings`.
    """

    def propagation(self, index: SparseIndex):
        """The operator of one propagation step, ``[N, C] -> [N, C]``."""
        normalised, weight = symmetric_normalization(index, add_self_loops=False, dtype=self.embedding.weight.dtype)
        return lambda x: spmm(normalised, x, weight)
