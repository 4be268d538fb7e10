"""The heterophilous benchmark graphs in the npz format of Platonov et al. (ICLR 2023)."""

from __future__ import annotations

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from .file_checks import disjoint, finite, in_range, read_npz, whole_numbers
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
        DataFormatError: the file is damaged, lacks one of the six arrays, their sizes disagree, labels or edge ids
            are not whole numbers or out of range, a feature is not finite, a mask holds values other than 0 / 1,
            or a split's masks share a node or leave one of them empty.
    """
    if name not in HETEROPHILOUS_GRAPHS:
        raise ValueError(f"name: expected one of {HETEROPHILOUS_GRAPHS}, got {name!r}")
    path = fetch_file(f"heterophilous/{name}.npz", _URL.format(name=name), what=f"{name} (heterophilous graphs)")
    arrays = read_npz(path)
    missing = [key for key in _KEYS if key not in arrays]
    if missing:
        raise DataFormatError(f"'{path}': missing array(s) {missing}; found {sorted(arrays)}")
    features = arrays["node_features"]
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.number):
        raise DataFormatError(f"'{path}': node_features should be a numeric [N, F] matrix, got shape "
                              f"{list(features.shape)} of {features.dtype}")
    finite(path, "node_features", features)
    num_nodes = features.shape[0]
    labels = whole_numbers(path, "node_labels", arrays["node_labels"])
    edges = whole_numbers(path, "edges", arrays["edges"])
    if labels.shape != (num_nodes,) or edges.ndim != 2 or edges.shape[1] != 2:
        raise DataFormatError(f"'{path}': expected node_labels [{num_nodes}] and edges [E, 2], got "
                              f"{list(labels.shape)} and {list(edges.shape)}")
    if labels.size and labels.min() < 0:
        raise DataFormatError(f"'{path}': node_labels should be classes >= 0, got {labels.min()}")
    in_range(path, "edges", edges, 0, num_nodes)
    masks = {}
    for key in _KEYS[3:]:
        mask = whole_numbers(path, key, arrays[key])
        if mask.ndim != 2 or mask.shape[1] != num_nodes:
            raise DataFormatError(f"'{path}': '{key}' has shape {list(mask.shape)}, expected [splits, {num_nodes}]")
        in_range(path, key, mask, 0, 2)
        masks[key.replace("_masks", "_mask")] = torch.from_numpy(mask.astype(bool)).t().contiguous()
    if len({mask.shape[1] for mask in masks.values()}) != 1:
        raise DataFormatError(f"'{path}': the masks hold different numbers of splits: "
                              f"{[mask.shape[1] for mask in masks.values()]}")
    disjoint(path, masks)
    edge_index = to_undirected(torch.from_numpy(edges).t(), num_nodes=num_nodes)
    return Data(x=torch.from_numpy(features).float(), y=torch.from_numpy(labels), edge_index=edge_index, **masks)
