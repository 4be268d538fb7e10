"""Data set loaders returning torch_geometric ``Data`` (graphs, molecules) or tensors.

Files are read from :func:`data_root` (``$GEOMLEARN_DATA``, default ``~/.cache/geomlearn``) in the layout
torch_geometric's and OGB's own loaders use, and downloaded there when missing (except with
``$GEOMLEARN_REQUIRE_DATA`` set). A missing file raises :class:`DataNotFoundError`, a malformed one
:class:`DataFormatError`; both name the file, and no partial data set is ever returned.

===============================  =============================================================================
``planetoid``                    Cora, CiteSeer, PubMed: public split or the ten Geom-GCN splits
``geom_gcn_masks``               the ten Geom-GCN train/val/test splits of a graph
``heterophilous``                Texas ... Squirrel, filtered versions, Minesweeper, Tolokers (npz)
``knowledge_graph``              FB15k-237, WN18RR: triples per split, the training graph in both directions
``movielens_100k``               MovieLens 100K rating graph with the five u1..u5 folds
``qm9``, ``qm9_split``           QM9 molecules (from ``qm9pack``), 12 targets, the 110k / 10k / rest split
``ogb_node`` / ``ogb_link``      OGB node / link property prediction, with their ``Evaluator``
``save_graph`` / ``load_graph``  a graph as ``.npy`` files, memory-mapped when read (out-of-core features; the
                                 CSR the sampler walks, stored)
``power_law_graph``              synthetic power-law in-degree graph of any size
``stochastic_block_model``       synthetic SBM with block labels and class-dependent features
===============================  =============================================================================
"""

from .geom_gcn import GEOM_GCN_GRAPHS, geom_gcn_masks
from .graph_store import load_graph, save_graph
from .heterophilous import HETEROPHILOUS_GRAPHS, heterophilous
from .knowledge_graph import KNOWLEDGE_GRAPHS, knowledge_graph
from .movielens import movielens_100k
from .ogb import ogb_link, ogb_node
from .planetoid import planetoid
from .qm9 import TARGETS as TARGETS_QM9
from .qm9 import atom_references, qm9, qm9_split
from .root import DataFormatError, DataNotFoundError, data_required, data_root, fetch_file, require_file
from .synthetic import power_law_graph, stochastic_block_model

__all__ = [
    "DataFormatError", "DataNotFoundError", "GEOM_GCN_GRAPHS", "HETEROPHILOUS_GRAPHS", "TARGETS_QM9", "atom_references",
    "data_required", "data_root", "fetch_file", "geom_gcn_masks", "heterophilous", "KNOWLEDGE_GRAPHS", "knowledge_graph", "load_graph", "movielens_100k",
    "ogb_link", "ogb_node", "planetoid", "power_law_graph", "qm9", "qm9_split", "require_file", "save_graph",
    "stochastic_block_model",
]
