"""A graph on disk as ``.npy`` files that are memory-mapped when read: features larger than the machine's memory
train through a loader that reads only the rows each batch needs.

Layout of a store folder (every file written under a temporary name and renamed when complete; ``meta.json``,
written last, marks a complete store, so a half-written store is never read):

* ``ptr.npy`` (int64 ``[N + 1]``) and ``edge_index.npy`` (``[2, E]``): the edges grouped by target (a CSR of the
  in-edges, the order the sampler walks), node ids int32 where they fit, offsets always int64;
* ``edge_perm.npy`` (``[E]``): each stored edge's position in the graph as it was saved;
* one ``<name>.npy`` per node attribute (``x``, ``y``, masks, ...) and per edge attribute (rows in the stored
  edge order);
* ``meta.json``: the number of nodes and edges, and which attributes are per node and per edge.

Reading maps the files copy-on-write (``mmap_mode="c"``): nothing is read until it is touched, the pages are shared
by every process that maps the same file (a ``torchrun`` job's processes hold the features once per machine), and
a write lands in the writing process's memory, never in the file. The store's index goes to a loader's worker
processes as its folder (:class:`MappedIndex`), and geomlearn's loaders keep the features in the main process, where
the batches are built (unless ``filter_per_worker=True``): a tensor sent to a worker by pickling would be copied into
shared memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from numba import njit, prange
from torch_geometric.data import Data

from ..sparse import SparseIndex
from ..sparse.kernels.cpu import Parallel
from .file_checks import existing, in_range, rows
from .root import DataFormatError, write_atomically

_META = "meta.json"
_INT32_MAX = np.iinfo(np.int32).max


def save_graph(data: Data, folder: Union[str, os.PathLike]) -> Path:
    """Write ``data`` (``edge_index``, ``num_nodes`` and its tensor attributes) as a store in ``folder``.

    Node attributes are those with ``num_nodes`` rows, edge attributes those with ``num_edges`` rows (other
    attributes are refused rather than dropped). Returns the folder.

    Raises:
        ValueError: ``data`` has no ``edge_index``, or an attribute that is neither per node nor per edge.
    """
    folder = Path(folder)
    index = SparseIndex.from_data(data)
    num_nodes, num_edges = index.num_dst, index.num_edges
    ptr, _, order = index.csr()
    node_dtype = np.int32 if num_nodes <= _INT32_MAX else np.int64
    edge_index = index.edge_index[:, order.long()].numpy().astype(node_dtype)
    arrays = {"ptr": ptr.numpy().astype(np.int64), "edge_index": edge_index,
              "edge_perm": order.numpy().astype(np.int64 if num_edges > _INT32_MAX else np.int32)}
    node_keys, edge_keys = [], []
    for key, value in data.items():
        if key in ("edge_index", "num_nodes") or not isinstance(value, torch.Tensor):
            continue
        if data.is_node_attr(key) and value.shape[0] == num_nodes:        # torch_geometric decides, by name and shape
            node_keys.append(key)
            arrays[key] = value.numpy()
        elif data.is_edge_attr(key) and value.shape[0] == num_edges:
            edge_keys.append(key)
            arrays[key] = value[order.long()].numpy()
        else:
            raise ValueError(f"data: attribute {key!r} of shape {list(value.shape)} is neither per node ({num_nodes} "
                             f"rows) nor per edge ({num_edges} rows); remove it before saving")
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / _META
    if stale.exists():
        stale.unlink()                                   # the store is incomplete until the new meta.json is written
    for key, array in arrays.items():
        write_atomically(folder / f"{key}.npy", lambda path, a=array: _save_npy(path, a))
    meta = dict(num_nodes=num_nodes, num_edges=num_edges, node_attributes=node_keys, edge_attributes=edge_keys)
    write_atomically(folder / _META, lambda path: path.write_text(json.dumps(meta, indent=1)))
    return folder


class MappedIndex(SparseIndex):
    """The :class:`~geomlearn.sparse.SparseIndex` of a graph store, over its memory-mapped files. Sent to another
    process (a loader's worker, by pickling) it travels as the store's folder and is mapped there again; it is never
    copied into shared memory (its pages are shared through the file already)."""

    folder: Path

    def __reduce__(self):
        return _mapped_index, (str(self.folder),)

    def share_memory_(self) -> "MappedIndex":
        return self


def _mapped_index(folder: str) -> MappedIndex:
    return load_graph(folder)[1]


@njit(parallel=True, nogil=True, cache=True)
def _targets_off_offsets(ptr, targets):  # pragma: no cover - compiled
    """How many edges in ``ptr[i]:ptr[i + 1]`` do not have target ``i``: one pass over the (mapped) file, no copy."""
    bad = 0
    for i in prange(ptr.shape[0] - 1):
        for k in range(ptr[i], ptr[i + 1]):
            bad += targets[k] != i
    return bad


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, np.ascontiguousarray(array), allow_pickle=False)


def load_graph(folder: Union[str, os.PathLike]) -> tuple[Data, SparseIndex]:
    """The store in ``folder``, memory-mapped: ``(data, index)``. ``data`` holds ``edge_index`` and every attribute
    as tensors over the mapped files (in the stored, target-grouped edge order); ``index`` is its
    :class:`~geomlearn.sparse.SparseIndex`, whose CSR is the stored one (nothing sorted or copied).

    Raises:
        DataNotFoundError: ``meta.json`` or a file it lists is missing (an incomplete store).
        DataFormatError: a file does not hold what ``meta.json`` says (rows, ranges, offsets).
    """
    folder = Path(folder)
    meta_path = existing(folder / _META)
    try:
        meta = json.loads(meta_path.read_text())
        num_nodes, num_edges = int(meta["num_nodes"]), int(meta["num_edges"])
        node_keys, edge_keys = list(meta["node_attributes"]), list(meta["edge_attributes"])
    except (ValueError, KeyError, TypeError) as err:
        raise DataFormatError(f"'{meta_path}': not a graph store's meta data: {err}") from err

    def mapped(key: str) -> np.ndarray:
        path = existing(folder / f"{key}.npy")
        try:
            with open(path, "rb") as handle:                  # an empty array has no pages to map: read it
                version = np.lib.format.read_magic(handle)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape = read_header(handle)[0]
            if 0 in shape:
                return np.load(path, allow_pickle=False)
            return np.load(path, mmap_mode="c", allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise DataFormatError(f"'{path}': not a readable .npy file (truncated?): {err}") from err

    ptr, edge_index = mapped("ptr"), mapped("edge_index")
    rows(folder / "ptr.npy", "the offsets", ptr, num_nodes + 1)
    if edge_index.shape != (2, num_edges):
        raise DataFormatError(f"'{folder / 'edge_index.npy'}': expected shape [2, {num_edges}], got "
                              f"{list(edge_index.shape)}")
    if ptr[0] != 0 or ptr[-1] != num_edges or (num_nodes and bool((np.diff(ptr) < 0).any())):
        raise DataFormatError(f"'{folder / 'ptr.npy'}': expected offsets rising from 0 to {num_edges}")
    in_range(folder / "edge_index.npy", "node ids", edge_index, 0, num_nodes)
    with Parallel(chunk=0):
        misplaced = bool(num_edges) and _targets_off_offsets(ptr, edge_index[1])
    if misplaced:
        raise DataFormatError(f"'{folder / 'edge_index.npy'}': its targets do not follow the offsets in ptr.npy")
    ptr_t, edges = torch.from_numpy(ptr), torch.from_numpy(edge_index)
    index = MappedIndex._trusted_csr(ptr_t, edges, num_nodes, num_nodes)          # checked just above
    index.folder = folder
    data = Data(edge_index=edges, num_nodes=num_nodes, edge_perm=torch.from_numpy(mapped("edge_perm")))
    # Beside torch_geometric's attribute store (which would slice and collate it): for stored_index.
    object.__setattr__(data, "_graph_store", (edges, index))
    for key, size in [(k, num_nodes) for k in node_keys] + [(k, num_edges) for k in edge_keys]:
        array = mapped(key)
        rows(folder / f"{key}.npy", key, array, size)
        data[key] = torch.from_numpy(array)
    return data, index


def stored_index(data: Data) -> Optional[MappedIndex]:
    """The :class:`MappedIndex` that :func:`load_graph` returned with ``data``, while ``data.edge_index`` is still the
    tensor it loaded (``None`` otherwise, or for a graph not read from a store). The loaders sample through it, so a
    stored graph is neither sorted again nor copied into the workers' shared memory."""
    stored = data.__dict__.get("_graph_store")
    if stored is None or data.edge_index is not stored[0]:
        return None
    return stored[1]


__all__ = ["MappedIndex", "load_graph", "save_graph", "stored_index"]
