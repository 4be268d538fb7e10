"""Parameterised decomposition and filtering (PDF, Yang et al., ICML 2023)."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.utils import to_dense_adj, to_dense_batch

from ..argument_checks import check_channels, check_int, check_real, check_width
from ..linalg import symmetric_matrix_function
from ..sparse.graph_input import Graph, graph_and_features


class SpectralBasis:
    r"""Scalar functions :math:`\varphi_k` applied to a spectrum, with their derivatives.

    ``"monomial"``: :math:`\varphi_k(\lambda) = \lambda^k` (then :math:`\varphi_k(M) = M^k`: the
    polynomial-filter GNNs); ``"gaussian"``: bumps :math:`\exp(-(\lambda - c_k)^2 / 2\sigma^2)` with centres
    :math:`c_k` evenly spaced on [-1, 1] and :math:`\sigma` their spacing, a basis that can resolve any
    band of the normalised spectrum.
    """

    def __init__(self, kind: str, size: int):
        if kind not in ("monomial", "gaussian"):
            raise ValueError(f"basis: expected 'monomial' or 'gaussian', got {kind!r}")
        check_int("num_basis", size)
        self.kind, self.size = kind, size
        self.centres = torch.linspace(-1.0, 1.0, size) if size > 1 else torch.zeros(1)
        self.width = 2.0 / max(size - 1, 1)

    def value(self, lam: Tensor) -> Tensor:
        """``[..., n] -> [..., n, K]``."""
        if self.kind == "monomial":
            return lam.unsqueeze(-1) ** torch.arange(self.size, device=lam.device, dtype=lam.dtype)
        centres = self.centres.to(lam)
        return torch.exp(-0.5 * ((lam.unsqueeze(-1) - centres) / self.width) ** 2)

    def derivative(self, lam: Tensor) -> Tensor:
        """``[..., n] -> [..., n, K]``: :math:`\\varphi_k'(\\lambda)`."""
        if self.kind == "monomial":
            powers = torch.arange(self.size, device=lam.device, dtype=lam.dtype)
            return powers * lam.unsqueeze(-1) ** (powers - 1).clamp(min=0)
        centres = self.centres.to(lam)
        return -(lam.unsqueeze(-1) - centres) / self.width ** 2 * self.value(lam)


def matrix_functions(matrix: Tensor, basis: SpectralBasis) -> Tensor:
    r"""``[B, K, n, n]``: :math:`\varphi_k(M_b)` for a batch of symmetric matrices ``[B, n, n]`` (one
    eigendecomposition each; the Daleckii-Krein backward of :mod:`geomlearn.linalg` stays finite on the
    repeated eigenvalues that symmetric graphs always have)."""
    return symmetric_matrix_function(matrix, basis)


class PDFConv(torch.nn.Module):
    r"""A parameterised graph matrix, decomposed, and filtered channel by channel.

    The graph matrix has a learnable self-loop weight :math:`\epsilon > 0`,

    .. math::
        M(\epsilon) = \tilde D^{-1/2} (A + \epsilon I) \tilde D^{-1/2}, \qquad \tilde D = D + \epsilon I

    (:math:`\epsilon = 1` is GCN's matrix), its spectrum :math:`M = U \Lambda U^\top` is computed per graph,
    and each (input, output) channel pair gets its own learnable spectral response in the basis
    :math:`\varphi_k`:

    .. math::
        X' = \sum_{k=1}^{K} \varphi_k(M)\, X W_k + b, \qquad
        \varphi_k(M) = U \varphi_k(\Lambda) U^\top

    so output channel :math:`o` filters input channel :math:`c` by
    :math:`g_{co}(\lambda) = \sum_k (W_k)_{co} \varphi_k(\lambda)`. With the monomial basis and
    :math:`\epsilon` fixed this is a polynomial-filter GNN (GPR-GNN, ChebNet-like), the constrained special
    case the paper starts from. Gradients reach :math:`\epsilon` through the decomposition
    (``geomlearn.gnn.pdf.matrix_functions``). The decomposition is dense, :math:`O(n^3)` per graph: the layer is meant
    for batches of small graphs (molecules, as in the paper's ZINC and ogbg-molpcba experiments).

    Args:
        in_channels: input size.
        out_channels: output size.
        num_basis: :math:`K`.
        basis: ``"gaussian"`` (default) or ``"monomial"``.
        epsilon: initial self-loop weight.
        learn_epsilon: learn :math:`\epsilon` (else fixed).

    Shapes:
        - input: ``x [N, in_channels]`` (the nodes of all graphs), ``edge_index`` / ``SparseIndex`` / ``Data``,
          ``batch [N]`` (graph of each node, sorted; ``None`` for one graph)
        - output: ``[N, out_channels]``
    """

    def __init__(self, in_channels: int, out_channels: int, num_basis: int = 8, basis: str = "gaussian",
                 epsilon: float = 1.0, learn_epsilon: bool = True):
        super().__init__()
        check_real("epsilon", epsilon, 0, strict=True)
        self.in_channels = check_channels("in_channels", in_channels)
        self.out_channels = check_channels("out_channels", out_channels)
        self.basis = SpectralBasis(basis, num_basis)
        self.weight = torch.nn.Parameter(torch.empty(num_basis, in_channels, out_channels))
        self.bias = torch.nn.Parameter(torch.empty(out_channels))
        raw = torch.tensor(math.log(math.expm1(epsilon)))                # softplus^-1(epsilon)
        if learn_epsilon:
            self.epsilon_raw = torch.nn.Parameter(raw)
        else:
            self.register_buffer("epsilon_raw", raw)
        self.reset_parameters()

    @property
    def epsilon(self) -> Tensor:
        return F.softplus(self.epsilon_raw)

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_channels * self.basis.size)
        torch.nn.init.uniform_(self.weight, -bound, bound)
        torch.nn.init.zeros_(self.bias)

    def graph_matrix(self, x: Tensor, edge_index: Graph, batch: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """``(M [B, n, n], mask [B, n])``: each graph's :math:`M(\\epsilon)`, zero-padded to the largest graph."""
        index, x, _, _ = graph_and_features(x, edge_index)
        if batch is not None and (batch.dim() != 1 or batch.shape[0] != x.shape[0]):
            raise ValueError(f"batch: expected shape [{x.shape[0]}] (one graph id per node), got {list(batch.shape)}")
        if batch is not None and batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
            raise ValueError("batch: expected graph ids sorted by node (as torch_geometric batches them)")
        _, mask = to_dense_batch(x, batch)
        adjacency = to_dense_adj(index.edge_index.long(), batch, max_num_nodes=mask.shape[1]).to(x.dtype)
        eps = self.epsilon.to(x.dtype)
        eye = torch.diag_embed(mask.to(x.dtype))
        degree = adjacency.sum(-1) + eps * mask
        inv_sqrt = torch.where(mask, degree.clamp(min=torch.finfo(x.dtype).tiny).rsqrt(), torch.zeros_like(degree))
        matrix = inv_sqrt.unsqueeze(-1) * (adjacency + eps * eye) * inv_sqrt.unsqueeze(-2)
        return 0.5 * (matrix + matrix.transpose(-1, -2)), mask

    def forward(self, x: Tensor, edge_index: Graph, batch: Optional[Tensor] = None) -> Tensor:
        check_width("x", x, self.in_channels)
        matrix, mask = self.graph_matrix(x, edge_index, batch)
        filters = matrix_functions(matrix, self.basis)                            # [B, K, n, n]
        dense_x, _ = to_dense_batch(x, batch)                                     # [B, n, C]
        projected = torch.einsum("bnc,kco->bkno", dense_x, self.weight)
        out = torch.einsum("bkij,bkjo->bio", filters, projected)
        return out[mask] + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, num_basis={self.basis.size}, basis={self.basis.kind!r}"
