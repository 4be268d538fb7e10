"""The Planetoid citation graphs (Cora, CiteSeer, PubMed) with the public split or the Geom-GCN splits."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops

from .file_checks import disjoint, finite, in_range, not_empty, read_pickle, read_table, rows, whole_numbers
from .geom_gcn import geom_gcn_masks
from .root import DataFormatError, fetch_file

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
_FILES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/ind.{prefix}.{file}"


def planetoid(name: str, split: str = "public") -> Data:
    """A Planetoid citation graph as torch_geometric reads it (Yang et al., 2016), undirected, raw features.

    Files are read from ``$GEOMLEARN_DATA/planetoid/<Name>/raw/ind.<name>.*`` (torch_geometric's layout),
    downloaded there first when missing; nothing else is written. The graph is the one torch_geometric's
    reader builds (self loops removed, duplicates merged), read without running the pickles' code (only numpy
    and scipy data classes are let through) and checked as it is read.

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
        DataFormatError: a file does not parse or does not hold what it should (named with the field): test
            indices outside the test range or not whole numbers, non-finite features, labels that are not one-hot,
            graph ids outside the nodes, overlapping splits.
    """
    key = str(name).lower()
    if key not in PLANETOID:
        raise ValueError(f"name: expected one of {sorted(PLANETOID.values())}, got {name!r}")
    if split not in ("public", "geom-gcn"):
        raise ValueError(f"split: expected 'public' or 'geom-gcn', got {split!r}")
    title = PLANETOID[key]
    raw = f"planetoid/{title}/raw"
    paths = {file: fetch_file(f"{raw}/ind.{key}.{file}", _URL.format(prefix=key, file=file),
                              what=f"{title} (Planetoid)") for file in _FILES}
    data = _read(paths)
    if split == "geom-gcn":
        masks = geom_gcn_masks(key, data.num_nodes)
        data.train_mask, data.val_mask, data.test_mask = (mask & data.labelled_mask[:, None] for mask in masks)
    return data


def _read(paths: dict) -> Data:
    """The graph of Yang et al.'s files, as torch_geometric's ``read_planetoid_data`` builds it, every part
    checked: the pickles read through an allow-list of data classes, the test indices whole numbers inside the
    test range, features finite, labels one-hot, graph ids inside the node range."""
    import scipy.sparse as sp

    csr = {("scipy.sparse.csr", "csr_matrix"): sp.csr_matrix, ("scipy.sparse._csr", "csr_matrix"): sp.csr_matrix}
    arrays = {}
    for file in ("x", "tx", "allx", "y", "ty", "ally"):
        value = read_pickle(paths[file], csr)
        if sp.issparse(value):
            try:
                value.check_format(full_check=True)
            except ValueError as err:
                raise DataFormatError(f"'{paths[file]}': a damaged sparse matrix: {err}") from err
            value = value.toarray()
        if not isinstance(value, np.ndarray) or value.ndim != 2:
            raise DataFormatError(f"'{paths[file]}': expected a 2-D matrix, got {type(value).__name__}")
        finite(paths[file], "the matrix", value)
        arrays[file] = torch.from_numpy(np.asarray(value, dtype=np.float32))
    x, tx, allx, y, ty, ally = (arrays[k] for k in ("x", "tx", "allx", "y", "ty", "ally"))
    for features, labels in (("x", "y"), ("tx", "ty"), ("allx", "ally")):
        rows(paths[labels], "the labels", arrays[labels], len(arrays[features]))
        if arrays[features].shape[1] != allx.shape[1] or arrays[labels].shape[1] != ally.shape[1]:
            raise DataFormatError(f"'{paths[features]}': {arrays[features].shape[1]} features and "
                                  f"{arrays[labels].shape[1]} classes, the other files {allx.shape[1]} and "
                                  f"{ally.shape[1]}")
        one_hot = ((arrays[labels] == 0) | (arrays[labels] == 1)).all() and (arrays[labels].sum(1) <= 1).all()
        if not bool(one_hot):
            raise DataFormatError(f"'{paths[labels]}': expected one-hot label rows")

    test_path = paths["test.index"]
    test_index = torch.from_numpy(whole_numbers(test_path, "the test indices", read_table(test_path)).reshape(-1))
    not_empty(test_path, "the test indices", test_index)
    rows(test_path, "the test indices", test_index, len(tx))
    start, end = len(allx), len(allx) + int(test_index.max() - test_index.min()) + 1
    if int(test_index.min()) != start:
        raise DataFormatError(f"'{test_path}': the test indices should start after the {start} nodes of allx, at "
                              f"{start}; got a smallest index of {int(test_index.min())}")
    if len(torch.unique(test_index)) != len(test_index):
        raise DataFormatError(f"'{test_path}': a test index appears twice")
    sorted_test = test_index.sort().values
    # Test nodes the files leave out (CiteSeer's 15 isolated nodes) get a zero feature row and label row.
    tx_full = tx.new_zeros(end - start, tx.shape[1])
    ty_full = ty.new_zeros(end - start, ty.shape[1])
    tx_full[sorted_test - start], ty_full[sorted_test - start] = tx, ty
    features = torch.cat([allx, tx_full])
    features[test_index] = features[sorted_test]
    labels = torch.cat([ally, ty_full]).argmax(dim=1)
    labels[test_index] = labels[sorted_test]
    num_nodes = len(labels)

    graph = read_pickle(paths["graph"])
    if not isinstance(graph, dict):
        raise DataFormatError(f"'{paths['graph']}': expected a dict of adjacency lists, got {type(graph).__name__}")
    try:
        sources = np.fromiter((node for node, targets in graph.items() for _ in targets), dtype=np.int64)
        targets = np.fromiter((t for neighbours in graph.values() for t in neighbours), dtype=np.int64)
    except (TypeError, ValueError) as err:
        raise DataFormatError(f"'{paths['graph']}': expected integer node ids in lists: {err}") from err
    in_range(paths["graph"], "the graph's node ids", np.concatenate([sources, targets]), 0, num_nodes)
    edge_index, _ = remove_self_loops(torch.stack([torch.from_numpy(sources), torch.from_numpy(targets)]))
    edge_index = coalesce(edge_index, num_nodes=num_nodes, sort_by_row=False)

    def mask(indices: Tensor) -> Tensor:
        out = torch.zeros(num_nodes, dtype=torch.bool)
        out[indices] = True
        return out

    data = Data(x=features, edge_index=edge_index, y=labels,
                train_mask=mask(torch.arange(len(y))), val_mask=mask(torch.arange(len(y), len(y) + 500)),
                test_mask=mask(test_index))
    data.labelled_mask = torch.ones(num_nodes, dtype=torch.bool)
    data.labelled_mask[start:end] = False
    data.labelled_mask[test_index] = True
    disjoint(paths["test.index"], {"train_mask": data.train_mask, "val_mask": data.val_mask,
                                   "test_mask": data.test_mask})
    return data
