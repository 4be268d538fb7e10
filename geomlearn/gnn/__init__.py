"""Message-passing layers and models on :mod:`geomlearn.sparse`.

Standard layers are drop-ins for torch_geometric's layers of the same name (same arguments, parameter
names and outputs) and take ``edge_index``, a :class:`~geomlearn.sparse.SparseIndex` or a ``Data``;
passing a ``SparseIndex`` built once reuses its cached layouts every call.

======================  ==========================================================================
``MessagePassing``      base class: ``message`` / ``aggregate`` / ``update``, fused ``spmm`` when it can
``GCNConv``             Kipf & Welling graph convolution
``SAGEConv``            GraphSAGE (mean / sum / max / min or a module aggregation)
``GINConv``             graph isomorphism network; ``GINEConv`` with edge features (Hu et al., 2020)
``AttentionConv``       base of the attention layers: edge features, self loops, heads, attention weights
``GATConv``             multi-head graph attention (gather-sum scores, segment softmax, multi-head SpMM)
``GATv2Conv``           dynamic attention (Brody et al., 2022): scores after the nonlinearity
``TransformerConv``     scaled dot-product attention over neighbours (SDDMM scores, multi-head SpMM)
``APPNP``               personalised-PageRank propagation
``SGConv``              simplifying graph convolution: K normalised propagations, one linear map
``GCN2Conv``            GCNII: initial residual and identity mapping (Chen et al., 2020)
``RGCNConv``            relational graph convolution (bases, blocks, featureless) on one grouped matmul; ``FastRGCNConv``
``RGATConv``            relational graph attention (Busbridge et al., 2019): each (node, relation) pair transformed once
``GraphConv``           Weisfeiler-Leman graph convolution (Morris et al., 2019), weighted sum of neighbours
``ChebConv``            Chebyshev spectral convolution (Defferrard et al., 2016) on the rescaled Laplacian
``EdgeConv``            DGCNN's edge convolution: a network on [x_i, x_j - x_i], its first layer run per node
``PNAConv``             principal neighbourhood aggregation: several aggregators, degree scalers, towers
``ResGatedGraphConv``   residual gated graph convolution: sigmoid gates per edge and channel
``NNConv``              edge-conditioned convolution: a network maps edge features to per-edge weights
``HGTConv``             heterogeneous graph transformer: grouped matmuls for the type / relation maps, SDDMM
                        scores and SpMM messages per relation, one softmax across relations
``HeteroLinear``        per-type linear maps as one grouped matmul; ``HeteroDictLinear`` on feature dicts
``to_hetero``           torch_geometric's ``to_hetero`` for models built from geomlearn layers
``global_*_pool``       graph-level sum / mean / max readouts; ``Set2Set`` attention readout
``gcn_norm``            symmetric normalisation with self loops
``DAGNN``               decoupled transformation and adaptive deep propagation (Liu et al., 2020)
``LCMAggregation``      learnable commutative monoid aggregation, O(log deg) tree (Ong & Veličković)
``TANGNNConv``          neighbourhood mean + attention over the top-m most similar vertices; ``TANGNN``
``NCNPredictor``        Neural Common Neighbor link scorer; ``NCNCPredictor`` with completion (Wang et al.)
``PDFConv``             parameterised graph matrix, decomposed, filtered per channel (Yang et al., 2023)
``LightGCN``            parameter-free propagation of user / item embeddings, BPR (He et al., 2020)
``feature_dropout``     dropout on dense or sparse (COO / CSR) node features
======================  ==========================================================================
"""

from ..feature_dropout import feature_dropout
from ..sparse.graph_input import as_sparse_index
from .appnp import APPNP
from .attention_conv import AttentionConv
from .cheb_conv import ChebConv
from .dagnn import DAGNN, DAGNNPropagation
from .edge_conv import EdgeConv
from .gat_conv import GATConv
from .gatv2_conv import GATv2Conv
from .gcn2_conv import GCN2Conv
from .gcn_conv import GCNConv
from .gin_conv import GINConv
from .gine_conv import GINEConv
from .global_pool import global_add_pool, global_max_pool, global_mean_pool
from .graph_conv import GraphConv
from .hetero_linear import HeteroDictLinear, HeteroLinear
from .hgt_conv import HGTConv
from .lcm_aggregation import LCMAggregation
from .lightgcn import LightGCN
from .message_passing import MessagePassing
from .ncn import NCNCPredictor, NCNPredictor, remove_target_links
from .nn_conv import NNConv
from .normalization import gcn_norm
from .pdf import PDFConv
from .pna_conv import PNAConv
from .res_gated_graph_conv import ResGatedGraphConv
from .rgat_conv import RGATConv
from .rgcn_conv import FastRGCNConv, RGCNConv
from .sage_conv import SAGEConv
from .set2set import Set2Set
from .sg_conv import SGConv
from .tangnn import TANGNN, TANGNNConv
from .to_hetero import to_hetero
from .transformer_conv import TransformerConv

__all__ = [
    "APPNP", "AttentionConv", "ChebConv", "DAGNN", "DAGNNPropagation", "EdgeConv", "FastRGCNConv", "GATConv",
    "GATv2Conv", "GCN2Conv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "HGTConv", "HeteroDictLinear",
    "HeteroLinear", "LCMAggregation", "LightGCN", "MessagePassing", "NCNCPredictor", "NCNPredictor", "NNConv",
    "PDFConv", "PNAConv", "RGATConv", "RGCNConv", "ResGatedGraphConv", "SAGEConv", "SGConv", "Set2Set", "TANGNN",
    "TANGNNConv", "TransformerConv", "as_sparse_index", "feature_dropout", "gcn_norm", "global_add_pool",
    "global_max_pool", "global_mean_pool", "remove_target_links", "to_hetero",
]
