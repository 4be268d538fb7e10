"""Open Graph Benchmark node- and link-property-prediction sets as torch_geometric ``Data``.

The ``ogb`` package supplies what it is the authority on: each set's meta data (``master.csv``), the raw
file readers and the ``Evaluator``. Files live under ``$GEOMLEARN_DATA/ogb/<name with _>/`` in OGB's own
layout (``raw/edge.csv.gz``, ``raw/node-feat.csv.gz``, ..., ``split/<split>/...``) and are read there
directly: unlike ``ogb``'s dataset classes, these loaders never prompt, never write a processed copy,
and raise :class:`~geomlearn.datasets.DataNotFoundError` instead of exiting when a file is missing.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from .root import DataFormatError, data_required, data_root, fetch_file, require_file


def _meta(name: str, task: str) -> dict:
    import pandas as pd
    import ogb

    master = pd.read_csv(Path(ogb.__file__).parent / task / "master.csv", index_col=0, keep_default_na=False)
    if name not in master:
        prefix = "ogbn" if task == "nodeproppred" else "ogbl"
        known = sorted(key for key in master.keys() if key.startswith(prefix))
        raise ValueError(f"name: expected one of {known}, got {name!r}")
    meta = dict(master[name])
    if meta["is hetero"] == "True":
        raise ValueError(f"name: {name!r} is a heterogeneous graph; these loaders read homogeneous OGB sets")
    return meta


def _folder(name: str, meta: dict) -> Path:
    """``$GEOMLEARN_DATA/ogb/<dir>``, downloaded and unpacked from OGB's server when missing."""
    relative = f"ogb/{name.replace('-', '_')}"
    marker = "raw/data.npz" if meta["binary"] == "True" else "raw/num-node-list.csv.gz"
    try:
        return require_file(f"{relative}/{marker}", what=name).parent.parent
    except FileNotFoundError:
        if data_required():
            raise
    archive = fetch_file(f"ogb/{meta['download_name']}.zip", meta["url"], what=name)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(archive.parent)
    shutil.move(str(archive.parent / meta["download_name"]), str(data_root() / relative))
    os.remove(archive)
    return require_file(f"{relative}/{marker}", what=name).parent.parent


def _graph(name: str, folder: Path, meta: dict) -> Data:
    from ogb.io.read_graph_raw import read_binary_graph_raw, read_csv_graph_raw

    node_files = [] if meta["additional node files"] == "None" else meta["additional node files"].split(",")
    edge_files = [] if meta["additional edge files"] == "None" else meta["additional edge files"].split(",")
    inverse = meta["add_inverse_edge"] == "True"
    try:
        if meta["binary"] == "True":
            graph = read_binary_graph_raw(str(folder / "raw"), add_inverse_edge=inverse)[0]
        else:
            graph = read_csv_graph_raw(str(folder / "raw"), add_inverse_edge=inverse,
                                       additional_node_files=node_files, additional_edge_files=edge_files)[0]
    except Exception as err:  # pandas, gzip and shape errors alike
        raise DataFormatError(f"{name}: the files in '{folder / 'raw'}' do not parse: {err}") from err
    num_nodes = int(graph["num_nodes"])
    edge_index = torch.from_numpy(np.asarray(graph["edge_index"], dtype=np.int64))
    if edge_index.numel() and (int(edge_index.min()) < 0 or int(edge_index.max()) >= num_nodes):
        raise DataFormatError(f"{name}: '{folder / 'raw' / 'edge.csv.gz'}' holds node ids outside 0..{num_nodes - 1}")
    data = Data(edge_index=edge_index, num_nodes=num_nodes)
    if graph["node_feat"] is not None:
        data.x = torch.from_numpy(graph["node_feat"])
    if graph["edge_feat"] is not None:
        data.edge_attr = torch.from_numpy(graph["edge_feat"])
    for key in node_files + edge_files:
        setattr(data, key, torch.from_numpy(np.asarray(graph[key])))
    return data


def ogb_node(name: str) -> tuple[Data, "object"]:
    """An OGB node-property-prediction set (e.g. ``"ogbn-arxiv"``) and its ``ogb`` ``Evaluator``.

    Returns:
        ``(data, evaluator)``: ``Data(x, edge_index, y [N, tasks], num_nodes, train_mask, val_mask, test_mask)``
        with the official split as ``[N]`` masks; extra node files (e.g. ``node_year``) as attributes.
    """
    from ogb.nodeproppred import Evaluator

    meta = _meta(name, "nodeproppred")
    folder = _folder(name, meta)
    data = _graph(name, folder, meta)
    labels_path = require_file(folder.relative_to(data_root()) / "raw" / "node-label.csv.gz", what=name)
    try:
        labels = np.loadtxt(labels_path, delimiter=",", ndmin=2)
    except ValueError as err:
        raise DataFormatError(f"{name}: '{labels_path}' does not parse: {err}") from err
    if labels.shape[0] != data.num_nodes:
        raise DataFormatError(f"{name}: '{labels_path}' has {labels.shape[0]} rows, expected {data.num_nodes}")
    data.y = torch.from_numpy(labels).long() if "classification" in meta["task type"] else torch.from_numpy(labels)
    split = folder / "split" / meta["split"]
    for key, file in (("train_mask", "train"), ("val_mask", "valid"), ("test_mask", "test")):
        path = require_file((split / f"{file}.csv.gz").relative_to(data_root()), what=name)
        nodes = torch.from_numpy(np.loadtxt(path, dtype=np.int64, ndmin=1))
        if nodes.numel() and (int(nodes.min()) < 0 or int(nodes.max()) >= data.num_nodes):
            raise DataFormatError(f"{name}: '{path}' holds node ids outside 0..{data.num_nodes - 1}")
        mask = torch.zeros(data.num_nodes, dtype=torch.bool)
        mask[nodes] = True
        setattr(data, key, mask)
    return data, Evaluator(name)


def ogb_link(name: str) -> tuple[Data, dict, "object"]:
    """An OGB link-property-prediction set (e.g. ``"ogbl-collab"``), its edge split and ``Evaluator``.

    Returns:
        ``(data, split, evaluator)``: ``data`` holds the training graph as OGB ships it (inverse edges
        added where OGB adds them); ``split`` maps ``"train"`` / ``"valid"`` / ``"test"`` to dicts of tensors
        (``"edge" [M, 2]``, ``"edge_neg"``, ``"weight"``, ``"year"``, ... as in the files).
    """
    from ogb.linkproppred import Evaluator

    meta = _meta(name, "linkproppred")
    folder = _folder(name, meta)
    data = _graph(name, folder, meta)
    split = {}
    for part in ("train", "valid", "test"):
        path = require_file((folder / "split" / meta["split"] / f"{part}.pt").relative_to(data_root()), what=name)
        # OGB stores its splits as pickled dicts of numpy arrays, which weights_only loading refuses.
        content = torch.load(path, weights_only=False)
        if not isinstance(content, dict):
            raise DataFormatError(f"{name}: '{path}' holds a {type(content).__name__}, expected a dict of arrays")
        split[part] = {key: torch.as_tensor(np.asarray(value)) for key, value in content.items()}
    return data, split, Evaluator(name)
