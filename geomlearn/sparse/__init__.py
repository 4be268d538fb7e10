"""The shared sparse backend: one index structure and a small set of sparse ops.

==========================  ==========================================================================
``SparseIndex``             the graph ``edge_index [2, E]`` (row 0 source, row 1 target), validated once,
                            with cached CSR (by target) and CSC (by source) layouts
``as_sparse_index``         a layer's graph argument (``edge_index``, ``SparseIndex`` or ``Data``) as a
                            ``SparseIndex`` checked against the feature sizes (every family's layers take it)
``spmm``                    ``out_i = reduce_{j -> i} w_e x_j`` (sum, mean, max, min; multi-head weights)
``sddmm``                   ``out_e = <a_i, b_j>`` per edge
``gather_sum``              ``out_e = a_i + b_j`` per edge (attention logits from per-node scores)
``additive_scores``         ``out_e = att . LeakyReLU(a_i + b_j + f_e)`` per edge (GATv2's scores, fused)
``gated_spmm``              ``out_i = sum_{j -> i} sigmoid(k_i + q_j) * v_j`` (residual gated graph ConvNets)
``relu_spmm``               ``out_i = sum_{e = (j -> i)} ReLU(x_j + f_e)`` (GINE's messages, fused)
``edge_matrix_spmm``        ``out_i = sum_{e = (j -> i)} x_j W_e`` with an ``[in, out]`` matrix per edge (NNConv)
``segment_softmax``         softmax of edge scores over each target's incoming edges
``segment_reduce``          per-edge values reduced into their targets
``block_spmm``              ``out_i = sum_{j -> i} B_e x_j`` with ``d x d`` blocks (sheaf Laplacians)
``coupling_spmm``           ``out_i = sum_{j -> i}`` a per-edge sparse coupling of ``x_j``, edge features and
                            channel weights (equivariant convolutions, with no ``[E, C, dim]`` message)
``householder_orthogonal``  per-edge orthogonal ``d x d`` blocks from reflector entries (O(d) sheaf maps)
``reverse_block_product``   ``out_e = diag(l_e) B_{e'}^T B_e diag(r_e)`` with ``e'`` the reverse edge (sheaf
                            Laplacian blocks); ``block_gram``: ``B_e^T B_e`` on the same kernels (degree blocks)
``segment_matmul``          grouped matmul of row segments by per-segment weights
``segment_tree_reduce``     each target's values folded by a binary operator along a balanced tree
``reverse_edges``           each edge's reverse in a symmetric graph, by sorting
``pair_neighbors``          neighbours of node pairs and which are shared (common-neighbour row products)
``sample_neighbors``        multi-hop neighbour sampling (uniform or weighted, with or without replacement):
                            the mini-batch subgraph, its per-layer blocks built from the sampler's own CSR
==========================  ==========================================================================

Each numeric op is a ``torch.library`` custom op with autograd and a fake implementation (so
``torch.compile(fullgraph=True)`` traces models that use it); ``geomlearn.sparse.reference`` holds the plain-torch
oracles and ``geomlearn.sparse.kernels`` picks the CPU (numba) or GPU (Triton) kernels by device.
``segment_tree_reduce`` (it applies a user's Python operator level by level), ``pair_neighbors`` and
``reverse_edges`` (they return index structures) are plain torch code built on the same layouts.
"""

from .additive_scores import additive_scores
from .block_spmm import block_spmm
from .coupling_spmm import Couplings, coupling_spmm
from .edge_matrix_spmm import edge_matrix_spmm
from .gated_spmm import gated_spmm
from .gather_sum import gather_sum
from .graph_input import Graph, as_sparse_index
from .householder_orthogonal import householder_orthogonal, householder_product
from .index import CompressedIndex, IndexModifiedError, SparseIndex
from .kernels import use_backend
from .neighbor_sampling import SampledSubgraph, sample_neighbors
from .pair_neighbors import PairNeighbors, pair_neighbors
from .relu_spmm import relu_spmm
from .reverse_block_product import block_gram, reverse_block_product
from .reverse_edges import reverse_edge_values, reverse_edges
from .sddmm import sddmm
from .segment_matmul import segment_matmul
from .segment_reduce import segment_reduce
from .segment_softmax import segment_softmax
from .segment_tree_reduce import segment_tree_reduce
from .spmm import spmm

__all__ = [
    "CompressedIndex",
    "Couplings",
    "Graph",
    "IndexModifiedError",
    "PairNeighbors",
    "SampledSubgraph",
    "SparseIndex",
    "additive_scores",
    "as_sparse_index",
    "block_gram",
    "block_spmm",
    "coupling_spmm",
    "edge_matrix_spmm",
    "gated_spmm",
    "gather_sum",
    "householder_orthogonal",
    "householder_product",
    "pair_neighbors",
    "relu_spmm",
    "reverse_block_product",
    "reverse_edge_values",
    "reverse_edges",
    "sample_neighbors",
    "sddmm",
    "segment_matmul",
    "segment_reduce",
    "segment_softmax",
    "segment_tree_reduce",
    "spmm",
    "use_backend",
]
