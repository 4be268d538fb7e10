r"""Recommenders that score user-item pairs with embeddings propagated over the user-item graph (LightGCN's
scheme): what :class:`geomlearn.gnn.LightGCN` and :class:`geomlearn.sheaf.SheafRecommender` share, each with its own
propagation step."""

from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .argument_checks import check_int
from .sparse import SparseIndex
from .sparse.graph_input import Graph, as_sparse_index


class PropagatedEmbeddings(torch.nn.Module):
    r"""A learned embedding table :math:`E^{(0)}` of every user and item (numbered in one node set), propagated
    ``K`` times by a step :math:`P` that a subclass defines (:meth:`propagation`):

    .. math::
        E^{(k+1)} = P\big(E^{(k)}\big), \qquad E = \sum_{k=0}^{K} \alpha_k E^{(k)}, \qquad
        \hat y_{ui} = \langle e_u, e_i \rangle.

    The API is torch_geometric's ``LightGCN``: :meth:`get_embedding`, ``forward(edge_index, edge_label_index)``
    for the scores of node pairs, and :meth:`recommendation_loss` (BPR with :math:`L_2` on the pairs' initial
    embeddings).

    Args:
        num_nodes: users plus items.
        embedding_dim: channels of every embedding.
        num_layers: :math:`K`.
        alpha: the layer weights :math:`\alpha_k` (``K + 1`` of them, or one scalar for all); default
            :math:`1 / (K + 1)` each. Stored as the buffer ``alpha``, so torch_geometric's ``state_dict`` loads.
    """

    def __init__(self, num_nodes: int, embedding_dim: int, num_layers: int, alpha=None):
        super().__init__()
        for name, value in (("num_nodes", num_nodes), ("embedding_dim", embedding_dim)):
            check_int(name, value)
        check_int("num_layers", num_layers, 0)
        self.num_nodes, self.embedding_dim, self.num_layers = num_nodes, embedding_dim, num_layers
        if alpha is None:
            alpha = 1.0 / (num_layers + 1)
        alpha = torch.as_tensor(alpha, dtype=torch.float32)
        if alpha.dim() == 0:
            alpha = alpha.repeat(num_layers + 1)
        if alpha.shape != (num_layers + 1,):
            raise ValueError(f"alpha: expected a scalar or {num_layers + 1} layer weights, got shape {list(alpha.shape)}")
        self.register_buffer("alpha", alpha)
        self.embedding = torch.nn.Embedding(num_nodes, embedding_dim)
        torch.nn.init.normal_(self.embedding.weight, std=0.1)

    def propagation(self, index: SparseIndex) -> Callable[[Tensor], Tensor]:
        """The step :math:`P` on the graph ``index``, ``[N, C] -> [N, C]``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its propagation step")

    def get_embedding(self, edge_index: Graph) -> Tensor:
        """``[N, C]``: the :math:`\alpha`-weighted sum of the ``K + 1`` propagated embeddings."""
        index, _ = as_sparse_index(edge_index, self.num_nodes)
        step = self.propagation(index)
        x = self.embedding.weight
        total = self.alpha[0] * x
        for k in range(1, self.num_layers + 1):
            x = step(x)
            total = total + self.alpha[k] * x
        return total

    def forward(self, edge_index: Graph, edge_label_index: Optional[Tensor] = None) -> Tensor:
        """Scores :math:`\\langle e_u, e_i \\rangle` of the pairs ``edge_label_index [2, B]`` (default: the edges)."""
        if edge_label_index is None:
            edge_label_index = edge_index.edge_index if isinstance(edge_index, SparseIndex) else edge_index
        if not isinstance(edge_label_index, Tensor) or edge_label_index.dim() != 2 or edge_label_index.shape[0] != 2:
            shape = list(edge_label_index.shape) if isinstance(edge_label_index, Tensor) else type(edge_label_index).__name__
            raise ValueError(f"edge_label_index: expected node pairs [2, B], got {shape}")
        embedding = self.get_embedding(edge_index)
        return (embedding[edge_label_index[0]] * embedding[edge_label_index[1]]).sum(dim=-1)

    def recommendation_loss(self, pos_edge_rank: Tensor, neg_edge_rank: Tensor, node_id: Optional[Tensor] = None,
                            lambda_reg: float = 1e-4) -> Tensor:
        r"""BPR, :math:`\operatorname{mean} \log(1 + e^{\hat y_{uj} - \hat y_{ui}})`, plus
        :math:`\lambda \lVert E^{(0)}_{\text{node\_id}} \rVert^2 / B` on the initial embeddings of the nodes in the
        batch (``node_id``; all nodes when ``None``), as LightGCN's paper and torch_geometric regularise."""
        if pos_edge_rank.shape != neg_edge_rank.shape:
            raise ValueError(f"neg_edge_rank: expected the shape of pos_edge_rank {list(pos_edge_rank.shape)}, got "
                             f"{list(neg_edge_rank.shape)}")
        loss = F.softplus(neg_edge_rank - pos_edge_rank).mean()
        if lambda_reg:
            embedding = self.embedding.weight if node_id is None else self.embedding.weight[node_id]
            loss = loss + lambda_reg * embedding.square().sum() / pos_edge_rank.numel()
        return loss

    def extra_repr(self) -> str:
        return f"{self.num_nodes}, {self.embedding_dim}, num_layers={self.num_layers}"


__all__ = ["PropagatedEmbeddings"]
