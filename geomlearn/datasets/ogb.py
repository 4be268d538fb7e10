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

from .file_checks import (disjoint, finite, in_range, not_empty, read_npz, read_table, read_torch, rows,
                          whole_numbers)
from .graph_store import load_graph, save_graph
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


def _extra_files(meta: dict, key: str) -> list[str]:
    return [] if meta[key] == "None" else meta[key].split(",")


def _numeric(path: Path, field: str, table: np.ndarray) -> np.ndarray:
    """A feature table as OGB keeps it: int64 when every entry is a whole number, else float32; finite."""
    finite(path, field, table)
    whole = np.array_equal(table, np.round(table))
    return table.astype(np.int64) if whole else table.astype(np.float32)


def _read_raw(name: str, raw: Path, meta: dict) -> dict:
    """OGB's raw files of one homogeneous graph (the CSV layout or ``data.npz``), every table checked: edge ids
    whole numbers inside the node range, one row per node (edge) in every node (edge) file, finite features,
    the declared node and edge counts. Returns ``edge_index [2, E]``, ``num_nodes`` and the feature arrays by
    OGB's names (``node_feat``, ``edge_feat``, ``node_year``, ...), with the inverse edges interleaved where OGB
    adds them."""
    if meta["binary"] == "True":
        path = raw / "data.npz"
        arrays = read_npz(path)
        for key in ("edge_index", "num_nodes_list", "num_edges_list"):
            if key not in arrays:
                raise DataFormatError(f"'{path}': missing array '{key}'; found {sorted(arrays)}")
        edges = whole_numbers(path, "edge_index", arrays.pop("edge_index"))
        counts = [whole_numbers(path, key, arrays.pop(key)).reshape(-1) for key in ("num_nodes_list", "num_edges_list")]
        sources = {key: path for key in arrays}
    else:
        edges = whole_numbers(raw / "edge.csv.gz", "edge ids", read_table(raw / "edge.csv.gz", columns=2)).T
        counts = [whole_numbers(raw / f"{kind}.csv.gz", "the count", read_table(raw / f"{kind}.csv.gz")).reshape(-1)
                  for kind in ("num-node-list", "num-edge-list")]
        files = {"node_feat": "node-feat", "edge_feat": "edge-feat"}
        files.update({key: key for key in _extra_files(meta, "additional node files") +
                      _extra_files(meta, "additional edge files")})
        arrays, sources = {}, {}
        for key, file in files.items():
            path = raw / f"{file}.csv.gz"
            if key in ("node_feat", "edge_feat") and not path.exists():
                continue
            path = require_file(path.relative_to(data_root()), what=name)
            arrays[key], sources[key] = read_table(path), path
    if any(len(count) != 1 for count in counts):
        raise DataFormatError(f"{name}: the node and edge count files hold {len(counts[0])} and {len(counts[1])} "
                              f"graphs; these loaders read a set of one graph")
    num_nodes, num_edges = int(counts[0][0]), int(counts[1][0])
    if edges.shape != (2, num_edges):
        raise DataFormatError(f"{name}: '{raw}' lists {edges.shape[1] if edges.ndim == 2 else '?'} edges, its edge "
                              f"count file {num_edges}")
    in_range(raw / "edge.csv.gz", "edge ids", edges, 0, num_nodes)
    graph = {"num_nodes": num_nodes}
    inverse = meta["add_inverse_edge"] == "True"
    for key, table in arrays.items():
        size, per = (num_nodes, "node") if key.startswith("node") else (num_edges, "edge")
        rows(sources[key], key, table, size)
        table = _numeric(sources[key], key, table)
        graph[key] = np.repeat(table, 2, axis=0) if inverse and per == "edge" else table
    if inverse:                                   # OGB's order: each edge followed by its inverse
        edges = np.repeat(edges, 2, axis=1)
        edges[0, 1::2], edges[1, 1::2] = edges[1, 0::2], edges[0, 0::2]
    graph["edge_index"] = edges
    return graph


def _graph(name: str, folder: Path, meta: dict) -> Data:
    graph = _read_raw(name, folder / "raw", meta)
    data = Data(edge_index=torch.from_numpy(graph.pop("edge_index")), num_nodes=graph.pop("num_nodes"))
    renamed = {"node_feat": "x", "edge_feat": "edge_attr"}
    for key, table in graph.items():
        setattr(data, renamed.get(key, key), torch.from_numpy(table))
    return data


def _stored(folder: Path, build) -> Data:
    """The graph ``build()`` returns, kept as a memory-mapped store in ``folder / "geomlearn-store"``: built and
    written the first time (the store is complete only once its ``meta.json`` is written), mapped every time."""
    store = folder / "geomlearn-store"
    if not (store / "meta.json").exists():
        save_graph(build(), store)
    return load_graph(store)[0]


def ogb_node(name: str, memory_map: bool = False) -> tuple[Data, "object"]:
    """An OGB node-property-prediction set (e.g. ``"ogbn-arxiv"``) and its ``ogb`` ``Evaluator``.

    Args:
        name: the set's OGB name.
        memory_map: keep the set as ``.npy`` files beside OGB's (written once, see
            :func:`~geomlearn.datasets.save_graph`) and return tensors mapped from them: features larger than the
            memory train, and every process of a machine shares one copy. The edges are then grouped by target
            (``data.edge_perm`` gives each one's position in OGB's order), and geomlearn's loaders sample through
            the stored CSR as it is: nothing sorted, and nothing copied into the workers' shared memory.

    Returns:
        ``(data, evaluator)``: ``Data(x, edge_index, y [N, tasks], num_nodes, train_mask, val_mask, test_mask)``
        with the official split as ``[N]`` masks; extra node files (e.g. ``node_year``) as attributes.
    """
    from ogb.nodeproppred import Evaluator

    meta = _meta(name, "nodeproppred")
    folder = _folder(name, meta)
    def build() -> Data:                                # only when not stored yet
        return _node_set(name, folder, meta)

    return (_stored(folder, build) if memory_map else build()), Evaluator(name)


def _node_set(name: str, folder: Path, meta: dict) -> Data:
    data = _graph(name, folder, meta)
    labels_path = require_file(folder.relative_to(data_root()) / "raw" / "node-label.csv.gz", what=name)
    labels = read_table(labels_path)
    rows(labels_path, "the labels", labels, data.num_nodes)
    if "classification" in meta["task type"]:
        labels = whole_numbers(labels_path, "the labels", labels)
        in_range(labels_path, "the labels", labels, 0, np.iinfo(np.int64).max)
    else:
        finite(labels_path, "the labels", labels)
    data.y = torch.from_numpy(labels)
    split = folder / "split" / meta["split"]
    masks = {}
    for key, file in (("train_mask", "train"), ("val_mask", "valid"), ("test_mask", "test")):
        path = require_file((split / f"{file}.csv.gz").relative_to(data_root()), what=name)
        nodes = whole_numbers(path, "node ids", read_table(path)).reshape(-1)
        not_empty(path, "the split", nodes)
        in_range(path, "node ids", nodes, 0, data.num_nodes)
        masks[key] = torch.zeros(data.num_nodes, dtype=torch.bool)
        masks[key][torch.from_numpy(nodes)] = True
    disjoint(split, masks)
    for key, mask in masks.items():
        setattr(data, key, mask)
    return data


def ogb_link(name: str, memory_map: bool = False) -> tuple[Data, dict, "object"]:
    """An OGB link-property-prediction set (e.g. ``"ogbl-collab"``), its edge split and ``Evaluator``.

    ``memory_map`` keeps the graph as memory-mapped ``.npy`` files, as :func:`ogb_node` does (the split stays in
    memory).

    Returns:
        ``(data, split, evaluator)``: ``data`` holds the training graph as OGB ships it (inverse edges
        added where OGB adds them); ``split`` maps ``"train"`` / ``"valid"`` / ``"test"`` to dicts of tensors
        (``"edge" [M, 2]``, ``"edge_neg"``, ``"weight"``, ``"year"``, ... as in the files).
    """
    from ogb.linkproppred import Evaluator

    meta = _meta(name, "linkproppred")
    folder = _folder(name, meta)
    data = _stored(folder, lambda: _graph(name, folder, meta)) if memory_map else _graph(name, folder, meta)
    split = {}
    for part in ("train", "valid", "test"):
        path = require_file((folder / "split" / meta["split"] / f"{part}.pt").relative_to(data_root()), what=name)
        split[part] = _link_split(path, data.num_nodes)
    return data, split, Evaluator(name)


def _link_split(path: Path, num_nodes: int) -> dict:
    """One ``split/<part>.pt`` file of an OGB link set: a dict of arrays, read with ``weights_only=True`` (OGB
    pickles numpy arrays; numpy's array classes are the only ones let through), its node-id arrays (``edge``,
    ``edge_neg``, ``source_node``, ``target_node``, ...) whole numbers inside the node range, the rest finite."""
    content = read_torch(path)
    if not isinstance(content, dict) or not content:
        raise DataFormatError(f"'{path}': expected a non-empty dict of arrays, got {type(content).__name__}")
    part = {}
    for key, value in content.items():
        array = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        if key.startswith(("edge", "source_node", "target_node")) and key not in ("edge_weight", "edge_year"):
            array = whole_numbers(path, f"'{key}'", array)
            not_empty(path, f"'{key}'", array)
            in_range(path, f"'{key}' (node ids)", array, 0, num_nodes)
        elif np.issubdtype(array.dtype, np.number):
            finite(path, f"'{key}'", array)
        part[key] = torch.from_numpy(np.ascontiguousarray(array))
    return part
