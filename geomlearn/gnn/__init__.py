"""Message-passing layers and models on :mod:`geomlearn.sparse`.

Standard layers are drop-ins for torch_geometric's layers of the same name (same arguments, parameter
names and outputs) and take ``edge_index``, a :class:`~geomlearn.sparse.SparseIndex` or a ``Data``;
passing a ``SparseIndex`` built once reuses its cached layouts every call.

======================  ==========================================================================
``MessagePassing``      base class: ``message`` / ``aggregate`` / ``update``, fused ``spmm`` when it can
``GCNConv``             Kipf & Welling graph convolution
``SAGEConv``            GraphSAGE (mean / sum / max / min or a module aggregation)
``GINConv``             graph isomorphism network; ``GINEConv`` with edge features (Hu et al., 2020)
``GATConv``             multi-head graph attention (gather-sum scores, segment softmax, multi-head SpMM)
``APPNP``               personalised-PageRank propagation
``SGConv``              simplifying graph convolution: K normalised propagations, one linear map
``GCN2Conv``            GCNII: initial residual and identity mapping (Chen et al., 2020)
``RGCNConv``            relational graph convolution (bases, blocks, featureless) on one grouped matmul; ``FastRGCNConv``
``GraphConv``           Weisfeiler-Leman graph convolution (Morris et al., 2019), weighted sum of neighbours
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
from .dagnn import DAGNN, DAGNNPropagation
from .gat_conv import GATConv
from .gcn2_conv import GCN2Conv
from .gcn_conv import GCNConv
from .gin_conv import GINConv
from .gine_conv import GINEConv
from .graph_conv import GraphConv
from .lcm_aggregation import LCMAggregation
from .lightgcn import LightGCN
from .message_passing import MessagePassing
from .ncn import NCNCPredictor, NCNPredictor, remove_target_links
from .normalization import gcn_norm
from .pdf import PDFConv
from .rgcn_conv import FastRGCNConv, RGCNConv
from .sage_conv import SAGEConv
from .sg_conv import SGConv
from .tangnn import TANGNN, TANGNNConv

__all__ = [
    "APPNP", "DAGNN", "DAGNNPropagation", "FastRGCNConv", "GATConv", "GCN2Conv", "GCNConv", "GINConv", "GINEConv", "GraphConv", "LCMAggregation",
    "LightGCN", "MessagePassing", "NCNCPredictor", "NCNPredictor", "PDFConv", "RGCNConv", "SAGEConv", "SGConv", "TANGNN", "TANGNNConv",
    "as_sparse_index", "feature_dropout",
    "gcn_norm", "remove_target_links",
]
