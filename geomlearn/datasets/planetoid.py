"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) with the public split or the Geom-GCN splits."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from .geom_gcn import geom_gcn_masks
from .root import DataFormatError, fetch_file

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_FILES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/ind.{prefix}.{file}"


def planetoid(name: str, split: str = "public") -> Data:
    """A Planetoid citation graph as torch_geometric reads it (Yang et al., 2016), undirected, raw features.

    Files are read from ``$GEOMLEARN_DATA/planetoid/<Name>/raw/ind.<name>.*`` (torch_geometric's layout),
    downloaded there first when missing; nothing else is written.

    Args:
        name: ``"Cora"``, ``"CiteSeer"`` or ``"PubMed"`` (any case).
        split: ``"public"``: the fixed split (20 labelled nodes per class, 500 validation, 1,000 test), masks
            ``[N]``; ``"geom-gcn"``: the ten Geom-GCN splits (48/32/20 % per class), masks ``[N, 10]``.

    CiteSeer's files leave out 15 isolated nodes of the test range: they have no features and no label, and
    torch_geometric gives them a zero feature row and class 0. ``labelled_mask`` marks the nodes the files
    label; the Geom-GCN splits (which include the 15) are restricted to them, as H2GCN's and NSD's loaders
    do, so that no model is trained or scored on a made-up class.

    Returns:
        ``Data(x [N, F], y [N], edge_index [2, E], train_mask, val_mask, test_mask, labelled_mask [N])``.

    Raises:
        ValueError: unknown ``name`` or ``split``.
        DataNotFoundError: a file is missing and could not be downloaded.
        DataFormatError: a file does not parse.
    """
    from torch_geometric.io.planetoid import read_planetoid_data

    key = str(name).lower()
    if key not in PLANETOID:
        raise ValueError(f"name: expected one of {sorted(PLANETOID.values())}, got {name!r}")
    if split not in ("public", "geom-gcn"):
        raise ValueError(f"split: expected 'public' or 'geom-gcn', got {split!r}")
    title = PLANETOID[key]
    raw = f"planetoid/{title}/raw"
    paths = [fetch_file(f"{raw}/ind.{key}.{file}", _URL.format(prefix=key, file=file), what=f"{title} (Planetoid)")
             for file in _FILES]
    try:
        data = read_planetoid_data(str(paths[0].parent), key)
    except Exception as err:  # pickle, index and shape errors alike: the files are not what they should be
        raise DataFormatError(f"{title} (Planetoid): the files in '{paths[0].parent}' do not parse: {err}") from err
    data.y = data.y.to(torch.long)
    data.labelled_mask = _labelled(paths[-1], data.num_nodes)
    if split == "geom-gcn":
        masks = geom_gcn_masks(key, data.num_nodes)
        data.train_mask, data.val_mask, data.test_mask = (mask & data.labelled_mask[:, None] for mask in masks)
    return data


def _labelled(test_index_path, num_nodes: int) -> Tensor:
    """``[N]`` bool: False on the nodes inside the test range that ``ind.<name>.test.index`` does not list
    (torch_geometric fills them with zeros; CiteSeer has 15, Cora and PubMed none)."""
    listed = torch.tensor([int(line) for line in test_index_path.read_text().split()], dtype=torch.long)
    labelled = torch.ones(num_nodes, dtype=torch.bool)
    labelled[int(listed.min()):int(listed.max()) + 1] = False
    labelled[listed] = True
    return labelled
