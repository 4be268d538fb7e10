"""What every loader checks in what it reads, and how it reads and writes files safely.

A data file can be truncated, empty, edited by hand or replaced by something else; a loader must notice
rather than hand a model a subtly different data set. Each check here raises
:class:`~geomlearn.datasets.DataFormatError` naming the file and the field (or line) and what was wrong:
float ids or labels that are not whole numbers (never truncated to ints), NaN or infinite features, ids
outside the node range, arrays with the wrong number of rows, empty splits, overlapping train / validation /
test sets. Files are read without running code (``np.load(allow_pickle=False)``, ``torch.load(weights_only=
True)`` with numpy's array classes allowed, pickles through an allow-list of data classes). What the loaders
write goes through ``geomlearn.datasets.root.write_atomically``, so a half-written file is never read.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import torch
from torch import Tensor

from .root import DataFormatError, DataNotFoundError

# What a damaged file makes the readers raise: a truncated gzip (EOFError, zlib.error, BadGzipFile is an
# OSError), a truncated zip (BadZipFile), a file that is not what it claims (ValueError, UnpicklingError).
READ_ERRORS = (EOFError, OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile, zlib.error,
               pickle.UnpicklingError, RuntimeError)


def existing(path: Path) -> Path:
    """``path``, or :class:`~geomlearn.datasets.DataNotFoundError` naming it (every reader here checks first, so a
    missing file is never reported as a damaged one, nor as a bare ``FileNotFoundError``)."""
    if not path.is_file():
        raise DataNotFoundError(f"'{path}' does not exist (or is not a file); the data set is incomplete")
    return path


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read whole, pickled objects refused."""
    existing(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: np.asarray(archive[key]) for key in archive.files}
    except READ_ERRORS as err:
        raise DataFormatError(f"'{path}': not a readable .npz archive (truncated or damaged?): {err}") from err


def read_table(path: Path, dtype=np.float64, columns: Optional[int] = None, delimiter: Optional[str] = None
               ) -> np.ndarray:
    """A numeric table (plain or ``.gz``) as ``[rows, columns]``: comma-separated for ``.csv`` files, else
    separated by ``delimiter`` (any whitespace by default).

    Raises:
        DataFormatError: the file does not decompress, a line does not parse, or its width is not ``columns``.
    """
    delimiter = "," if existing(path).name.endswith((".csv", ".csv.gz")) else delimiter
    try:
        with warnings.catch_warnings():              # an empty file: the caller decides whether that is an error
            warnings.filterwarnings("ignore", "loadtxt: input contained no data")
            table = np.loadtxt(path, dtype=dtype, delimiter=delimiter, ndmin=2)
    except READ_ERRORS as err:
        raise DataFormatError(f"'{path}': not a readable table of numbers (truncated or damaged?): {err}") from err
    if columns is not None and table.shape[0] and table.shape[1] != columns:
        raise DataFormatError(f"'{path}': expected {columns} column(s), got {table.shape[1]}")
    return table


def whole_numbers(path: Path, field: str, values: np.ndarray) -> np.ndarray:
    """``values`` as int64: integers as they are, floats only when every one is a whole number (an id or label
    written as ``3.0`` is fine, ``2.5`` is a damaged file, never truncated to 2)."""
    values = np.asarray(values)
    if values.dtype == bool or np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64)
    if not np.issubdtype(values.dtype, np.floating):
        raise DataFormatError(f"'{path}': {field} should hold integers, got dtype {values.dtype}")
    fractional = ~np.isfinite(values) | (values != np.round(values))
    if fractional.any():
        position = np.unravel_index(int(np.argmax(fractional)), values.shape)
        raise DataFormatError(f"'{path}': {field} should hold whole numbers, got {values[position].item()!r} at "
                              f"{[int(p) for p in position]}")
    return values.astype(np.int64)


def finite(path: Path, field: str, values) -> None:
    """No NaN or infinite entry."""
    array = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
    bad = ~np.isfinite(array)
    if bad.any():
        position = np.unravel_index(int(np.argmax(bad)), array.shape)
        raise DataFormatError(f"'{path}': {field} holds {int(bad.sum())} NaN / infinite value(s), the first at "
                              f"{[int(p) for p in position]}")


def in_range(path: Path, field: str, values, low: int, high: int) -> None:
    """Every entry in ``low..high - 1`` (node ids, labels)."""
    array = values.detach().cpu().numpy() if isinstance(values, Tensor) else np.asarray(values)
    if array.size and (array.min() < low or array.max() >= high):
        raise DataFormatError(f"'{path}': {field} should lie in {low}..{high - 1}, got values in "
                              f"{array.min()}..{array.max()}")


def rows(path: Path, field: str, values, expected: int) -> None:
    """``values`` has ``expected`` rows (one per node, say)."""
    if len(values) != expected:
        raise DataFormatError(f"'{path}': {field} has {len(values)} rows, expected {expected}")


def not_empty(path: Path, field: str, values) -> None:
    if len(values) == 0:
        raise DataFormatError(f"'{path}': {field} is empty")


def disjoint(path: Path, masks: dict[str, Tensor]) -> None:
    """Boolean masks ``[N]`` or ``[N, splits]`` that share no node within a split, each with a node."""
    names = list(masks)
    for name in names:
        if not bool(masks[name].any(dim=0).all()):
            split = int((~masks[name].any(dim=0)).nonzero()[0]) if masks[name].dim() == 2 else 0
            raise DataFormatError(f"'{path}': {name} is empty{f' in split {split}' if masks[name].dim() == 2 else ''}")
    for k, first in enumerate(names):
        for second in names[k + 1:]:
            shared = masks[first] & masks[second]
            if bool(shared.any()):
                node = int(shared.nonzero()[0, 0])
                raise DataFormatError(f"'{path}': {first} and {second} share {int(shared.sum())} node(s) (node "
                                      f"{node} among them); a split's sets must be disjoint")


# Every class a pickled numpy / scipy data file may name, and nothing that could run code on load.
_PICKLE_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy.core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("numpy._core.multiarray", "scalar"): np.float64(0).__reduce__()[0],
    ("collections", "defaultdict"): __import__("collections").defaultdict,
    ("builtins", "list"): list,
    ("builtins", "dict"): dict,
    ("builtins", "set"): set,
}


class _DataUnpickler(pickle.Unpickler):
    def __init__(self, handle, path: Path, extra: dict):
        super().__init__(handle, encoding="latin1")
        self.path, self.allowed = path, {**_PICKLE_ALLOWED, **extra}

    def find_class(self, module: str, name: str):
        key = ("builtins" if module == "__builtin__" else module, name)
        if key not in self.allowed:
            raise DataFormatError(f"'{self.path}': refers to {module}.{name}, which a data file has no use for; "
                                  f"it is not loaded (unpickling it could run code)")
        return self.allowed[key]


def read_pickle(path: Path, extra: Optional[dict] = None) -> object:
    """A pickled data file (numpy arrays, lists, dicts; ``extra`` maps further ``(module, name)`` to the classes
    allowed, e.g. scipy's ``csr_matrix``), refusing any other class instead of importing it."""
    existing(path)
    try:
        with open(path, "rb") as handle:
            return _DataUnpickler(handle, path, extra or {}).load()
    except DataFormatError:
        raise
    except READ_ERRORS as err:
        raise DataFormatError(f"'{path}': not a readable pickle (truncated or damaged?): {err}") from err


def _numpy_globals() -> list:
    reconstruct, scalar = np.ndarray.__reduce__(np.zeros(0))[0], np.float64(0).__reduce__()[0]
    names = [(reconstruct, f"{prefix}.multiarray._reconstruct") for prefix in ("numpy.core", "numpy._core")]
    names += [(scalar, f"{prefix}.multiarray.scalar") for prefix in ("numpy.core", "numpy._core")]
    dtypes = {type(np.dtype(kind)) for kind in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                                np.float16, np.float32, np.float64)}
    return names + [np.ndarray, np.dtype, bytes, *dtypes]        # bytes: how pickle writes an empty array's data


def read_torch(path: Path) -> object:
    """A ``torch.save`` file of tensors and numpy arrays, with ``weights_only=True`` (no code runs)."""
    existing(path)
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, weights_only=True, map_location="cpu")
    except READ_ERRORS as err:
        raise DataFormatError(f"'{path}': not a readable torch file of arrays (truncated, damaged, or holding "
                              f"objects other than tensors and arrays): {err}") from err


def content_digest(paths: Iterable[Path], chunk: int = 1 << 20) -> str:
    """SHA-256 over the contents of ``paths`` (in order): the key of a cache built from them."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


__all__ = ["content_digest", "disjoint", "existing", "finite", "in_range", "not_empty", "read_npz", "read_pickle", "read_table",
           "read_torch", "rows", "whole_numbers"]
