r"""Sheaf4Rec (Purificato et al.): LightGCN's propagation on a learned sheaf of the user-item graph."""

from __future__ import annotations

import torch

from ..argument_checks import is_int
from ..propagated_embeddings import PropagatedEmbeddings
from ..sparse import SparseIndex
from .sheaf_learner import SheafLearner


class SheafRecommender(PropagatedEmbeddings):
    r"""Collaborative filtering by sheaf diffusion.

    Every node's embedding is a stalk of ``d`` coordinates with ``embedding_dim / d`` channels each; the
    restriction maps are learned from the initial embeddings of an edge's two ends
    (:class:`~geomlearn.sheaf.SheafLearner`) and the propagation is one diffusion step,

    .. math::
        X^{(k+1)} = X^{(k)} - \Delta_{\mathcal F} X^{(k)}, \qquad
        X = \sum_{k=0}^{K} \alpha_k X^{(k)}, \qquad \hat y_{ui} = \langle \operatorname{vec} x_u,
        \operatorname{vec} x_i \rangle,

    trained with BPR like :class:`~geomlearn.gnn.LightGCN` (whose API it keeps). With the identity sheaf,
    :math:`I - \Delta_{\mathcal F} = D^{-1/2} A D^{-1/2} \otimes I_d` and the model is LightGCN (except that a
    node without edges keeps its embedding, which LightGCN's propagation zeroes); the normalisation is the
    textbook one for that reason (:math:`\epsilon = 10^{-6}`).

    With orthogonal maps the learner's weights start at zero: every edge then has the same map at both
    ends (:math:`F_u^\top F_v = I`), so training starts from LightGCN and learns how far to turn away from
    it, rather than from a random rotation on every edge.

    Args:
        num_nodes, embedding_dim, num_layers: as :class:`~geomlearn.gnn.LightGCN`.
        d: stalk dimension; must divide ``embedding_dim``.
        maps: ``"householder"`` / ``"cayley"`` (orthogonal, default), ``"diagonal"`` or ``"general"``.
        edge_weights: orthogonal maps only: learned symmetric edge weights as well
            (:class:`~geomlearn.sheaf.SheafLearner`).
    """

    def __init__(self, num_nodes: int, embedding_dim: int, num_layers: int, d: int = 4, maps: str = "householder",
                 edge_weights: bool = False):
        super().__init__(num_nodes, embedding_dim, num_layers)
        if not is_int(d) or d < 1 or embedding_dim % d:
            raise ValueError(f"d: expected a stalk dimension >= 1 dividing embedding_dim={embedding_dim}, got {d!r}")
        self.d, self.maps = d, maps
        self.learner = SheafLearner(embedding_dim // d, d, maps, edge_weights=edge_weights, eps=1e-6)
        if maps in ("householder", "cayley"):
            torch.nn.init.zeros_(self.learner.own.weight)
            torch.nn.init.zeros_(self.learner.other.weight)

    def propagation(self, index: SparseIndex):
        stalks = self.embedding.weight.view(self.num_nodes, self.d, -1)
        laplacian = self.learner(stalks, index)
        return lambda x: x - laplacian(x.view_as(stalks)).view_as(x)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, d={self.d}, maps={self.maps!r}, edge_weights={self.learner.edge_weights}"
