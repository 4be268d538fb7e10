"""The heterophilous benchmark graphs in the npz format of Platonov et al. (ICLR 2023)."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from .root import DataFormatError, fetch_file

HETEROPHILOUS_GRAPHS = ("texas", "wisconsin", "cornell", "actor", "chameleon", "squirrel", "chameleon_filtered",
                        "squirrel_filtered", "minesweeper", "tolokers", "roman_empire", "amazon_ratings", "questions")
_URL = "https://github.com/yandex-research/heterophilous-graphs/raw/main/data/{name}.npz"
_KEYS = ("node_features", "node_labels", "edges", "train_masks", "val_masks", "test_masks")


def heterophilous(name: str) -> Data:
    """A heterophilous graph with its ten splits, from ``$GEOMLEARN_DATA/heterophilous/<name>.npz``.

    Texas, Wisconsin, Cornell, Actor (Film), Chameleon and Squirrel are the Geom-GCN versions with the
    Geom-GCN splits; ``*_filtered`` drop the duplicated nodes Platonov et al. found; Minesweeper and
    Tolokers are their new graphs (binary labels). Edges are made undirected, as in both papers' code.

    Returns:
        ``Data(x [N, F], y [N], edge_index [2, E], train_mask, val_mask, test_mask)``, masks ``[N, 10]``.

    Raises:
        ValueError: unknown ``name``.
        DataFormatError: the file lacks one of the six arrays or their sizes disagree.
    """
    if name not in HETEROPHILOUS_GRAPHS:
        raise ValueError(f"name: expected one of {HETEROPHILOUS_GRAPHS}, got {name!r}")
    path = fetch_file(f"heterophilous/{name}.npz", _URL.format(name=name), what=f"{name} (heterophilous graphs)")
    with np.load(path) as arrays:
        missing = [key for key in _KEYS if key not in arrays]
        if missing:
            raise DataFormatError(f"'{path}': missing array(s) {missing}; found {sorted(arrays.keys())}")
        x, y, edges = (torch.from_numpy(np.asarray(arrays[key])) for key in _KEYS[:3])
        masks = [torch.from_numpy(np.asarray(arrays[key]).astype(bool)) for key in _KEYS[3:]]
    num_nodes = x.shape[0]
    if y.shape != (num_nodes,) or edges.dim() != 2 or edges.shape[1] != 2:
        raise DataFormatError(f"'{path}': expected node_labels [{num_nodes}] and edges [E, 2], got "
                              f"{list(y.shape)} and {list(edges.shape)}")
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= num_nodes):
        raise DataFormatError(f"'{path}': edges hold node ids outside 0..{num_nodes - 1}")
    for key, mask in zip(_KEYS[3:], masks):
        if mask.dim() != 2 or mask.shape[1] != num_nodes:
            raise DataFormatError(f"'{path}': '{key}' has shape {list(mask.shape)}, expected [splits, {num_nodes}]")
    edge_index = to_undirected(edges.t().long(), num_nodes=num_nodes)
    train, val, test = (mask.t().contiguous() for mask in masks)
    return Data(x=x.float(), y=y.long(), edge_index=edge_index, train_mask=train, val_mask=val, test_mask=test)
