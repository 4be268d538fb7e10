"""The ten fixed train/validation/test splits of Geom-GCN (Pei et al., ICLR 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from .file_checks import disjoint, in_range, read_npz, whole_numbers
from .root import DataFormatError, fetch_file

GEOM_GCN_GRAPHS = ("cora", "citeseer", "pubmed", "chameleon", "squirrel", "film", "texas", "wisconsin", "cornell")
_URL = "https://raw.githubusercontent.com/graphdml-uiuc-jlu/geom-gcn/master/splits/{file}"


def geom_gcn_masks(name: str, num_nodes: int) -> tuple[Tensor, Tensor, Tensor]:
    """``(train_mask, val_mask, test_mask)``, each ``[num_nodes, 10]`` bool (column ``k`` is split ``k``).

    Read from ``$GEOMLEARN_DATA/geom_gcn/splits/<name>_split_0.6_0.2_<k>.npz``. The file names say 60/20/20,
    the files hold 48/32/20 % of each class (the split every heterophily paper reports on).

    Raises:
        ValueError: ``name`` is not one of the Geom-GCN graphs.
        DataFormatError: a file is damaged or lacks a mask, a mask does not have ``num_nodes`` entries of 0 / 1,
            or the three masks of a split overlap or leave one of them empty.
    """
    if name not in GEOM_GCN_GRAPHS:
        raise ValueError(f"name: expected one of {GEOM_GCN_GRAPHS}, got {name!r}")
    columns = {"train_mask": [], "val_mask": [], "test_mask": []}
    for k in range(10):
        file = f"{name}_split_0.6_0.2_{k}.npz"
        path = fetch_file(f"geom_gcn/splits/{file}", _URL.format(file=file), what=f"Geom-GCN split {k} of {name}")
        split = read_npz(path)
        for key, column in columns.items():
            if key not in split:
                raise DataFormatError(f"'{path}': expected an array '{key}', found {sorted(split)}")
            mask = whole_numbers(path, key, split[key])
            if mask.shape != (num_nodes,):
                raise DataFormatError(f"'{path}': '{key}' has shape {mask.shape}, expected ({num_nodes},)")
            in_range(path, key, mask, 0, 2)
            column.append(torch.from_numpy(mask.astype(bool)))
        disjoint(path, {key: column[-1] for key, column in columns.items()})
    train, val, test = (torch.stack(column, dim=1) for column in columns.values())
    return train, val, test
