"""Neural Common Neighbor link predictors, with and without completion (Wang, Yang & Zhang, ICLR 2024)."""

from __future__ import annotations

import torch
from torch import Tensor

from ..argument_checks import check_channels, check_int, check_probability, check_real, check_width
from ..sparse import SparseIndex, pair_neighbors, spmm


def _mlp(in_channels: int, hidden: int, out_channels: int, num_layers: int, dropout: float) -> torch.nn.Sequential:
    layers: list[torch.nn.Module] = []
    sizes = [in_channels] + [hidden] * (num_layers - 1) + [out_channels]
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if k < num_layers - 1:
            layers += [torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    return torch.nn.Sequential(*layers)


class NCNPredictor(torch.nn.Module):
    r"""The Neural Common Neighbor link scorer of `Wang et al. <https://arxiv.org/abs/2302.00890>`_.

    Given node representations :math:`h` from any MPNN, the logit of a link :math:`(i, j)` pools the
    representations of the common neighbours beside the pair's own product:

    .. math::
        s_{ij} = \mathrm{MLP}\Big(\beta\, \mathrm{MLP}_{cn}\big(\textstyle\sum_{u \in \mathcal N(i) \cap \mathcal N(j)} h_u\big)
                 + \mathrm{MLP}_{ij}(h_i \odot h_j)\Big)

    The common-neighbour sums are one :func:`~geomlearn.sparse.spmm` over the pattern of the row products
    :math:`A_{i,:} \odot A_{j,:}` (:func:`~geomlearn.sparse.pair_neighbors`); no dense adjacency is formed.

    Args:
        channels: size of :math:`h`.
        hidden: hidden size of the MLPs.
        num_layers: layers of the final MLP.
        dropout: dropout inside the MLPs.
        beta: weight :math:`\beta` of the common-neighbour term.

    Shapes:
        - input: ``h [N, channels]``, ``index`` (the observed graph, a square ``SparseIndex``), ``pairs [2, B]``
        - output: logits ``[B]``
    """

    def __init__(self, channels: int, hidden: int, num_layers: int = 3, dropout: float = 0.0, beta: float = 1.0):
        super().__init__()
        self.channels = check_channels("channels", channels)
        check_channels("hidden", hidden)
        check_int("num_layers", num_layers)
        check_probability("dropout", dropout)
        self.beta = check_real("beta", beta)
        self.cn_mlp = _mlp(channels, hidden, hidden, 2, dropout)
        self.ij_mlp = _mlp(channels, hidden, hidden, 2, dropout)
        self.out_mlp = _mlp(hidden, hidden, 1, num_layers, dropout)

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, torch.nn.Linear):
                module.reset_parameters()

    def common_neighbor_sum(self, h: Tensor, index: SparseIndex, pairs: Tensor) -> Tensor:
        r""":math:`\sum_{u \in \mathcal N(i) \cap \mathcal N(j)} h_u` for every pair, ``[B, channels]``."""
        neighbors = pair_neighbors(index, pairs)
        return spmm(neighbors.index(index.num_dst, pairs.shape[1], neighbors.shared), h)

    def score(self, h: Tensor, pairs: Tensor, cn_sum: Tensor) -> Tensor:
        """Logits ``[B]`` from the pooled common-neighbour features ``cn_sum [B, channels]``."""
        pair_term = self.ij_mlp(h[pairs[0]] * h[pairs[1]])
        return self.out_mlp(self.beta * self.cn_mlp(cn_sum) + pair_term).squeeze(-1)

    def forward(self, h: Tensor, index: SparseIndex, pairs: Tensor) -> Tensor:
        check_width("h", h, self.channels, "channels")
        return self.score(h, pairs, self.common_neighbor_sum(h, index, pairs))


class NCNCPredictor(NCNPredictor):
    r"""NCN with common-neighbour completion (NCNC): neighbours of only one end of the link count with the
    probability, predicted by the NCN scorer itself, that the missing edge exists.

    .. math::
        \tilde h_{ij} = \sum_{u \in \mathcal N(i) \cap \mathcal N(j)} h_u
          + \sum_{u \in \mathcal N(i) \setminus \mathcal N(j)} \sigma(s^{NCN}_{uj})\, h_u
          + \sum_{u \in \mathcal N(j) \setminus \mathcal N(i)} \sigma(s^{NCN}_{iu})\, h_u,
        \qquad s_{ij} = \mathrm{NCN\ head}(h_i, h_j, \tilde h_{ij})

    Together with :func:`remove_target_links` during training (the paper's second intervention), this is
    the model the paper calls NCNC (completion depth 1).
    """

    def forward(self, h: Tensor, index: SparseIndex, pairs: Tensor) -> Tensor:
        check_width("h", h, self.channels, "channels")
        num_nodes, num_pairs = index.num_dst, pairs.shape[1]
        from_first = pair_neighbors(index, pairs)
        from_second = pair_neighbors(index, pairs.flip(0))
        completed = spmm(from_first.index(num_nodes, num_pairs, from_first.shared), h)
        for neighbors, other_end in ((from_first, 1), (from_second, 0)):
            only_here = ~neighbors.shared
            pair, node = neighbors.pair[only_here], neighbors.node[only_here]
            # The missing edge between the one-sided neighbour u and the other end of the pair.
            candidate = torch.stack([node, pairs[other_end].to(node.device)[pair]])
            probability = torch.sigmoid(super().forward(h, index, candidate))
            completed = completed + spmm(neighbors.index(num_nodes, num_pairs, only_here), h, probability)
        return self.score(h, pairs, completed)


def remove_target_links(index: SparseIndex, pairs: Tensor) -> SparseIndex:
    """The graph without the edges ``i -> j`` and ``j -> i`` of every target pair ``(i, j)``.

    Training a link predictor on a graph that still contains the links it is asked to predict lets it
    read the answer off the common neighbourhoods; NCN's training removes them batch by batch.
    """
    num_nodes = index.num_dst
    pairs = pairs.long().to(index.device)
    targets = torch.cat([pairs[0] * num_nodes + pairs[1], pairs[1] * num_nodes + pairs[0]])
    keys = index.src.long() * num_nodes + index.dst.long()
    keep = ~torch.isin(keys, targets)
    return SparseIndex._trusted(index.edge_index[:, keep], index.num_src, index.num_dst)


__all__ = ["NCNCPredictor", "NCNPredictor", "remove_target_links"]
