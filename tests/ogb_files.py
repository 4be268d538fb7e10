"""Tiny graphs written in OGB's own file layout, so the OGB paths run without a download."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch


def write_csv(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        for row in np.atleast_1d(rows):
            handle.write(",".join(str(v) for v in np.atleast_1d(row)) + "\n")


def write_tiny_arxiv(root: Path) -> Path:
    """Six papers, six citations, two float features, four classes, the 3/1/2 'time' split."""
    folder = root / "ogb" / "ogbn_arxiv"
    edges = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [5, 1]])
    write_csv(folder / "raw" / "edge.csv.gz", edges)
    write_csv(folder / "raw" / "num-node-list.csv.gz", [6])
    write_csv(folder / "raw" / "num-edge-list.csv.gz", [len(edges)])
    write_csv(folder / "raw" / "node-feat.csv.gz", np.arange(12, dtype=float).reshape(6, 2) / 10)
    write_csv(folder / "raw" / "node_year.csv.gz", [2010, 2011, 2012, 2013, 2014, 2015])
    write_csv(folder / "raw" / "node-label.csv.gz", [3, 0, 1, 3, 2, 0])
    write_csv(folder / "split" / "time" / "train.csv.gz", [0, 1, 2])
    write_csv(folder / "split" / "time" / "valid.csv.gz", [3])
    write_csv(folder / "split" / "time" / "test.csv.gz", [4, 5])
    return folder


def write_tiny_link_set(root: Path, name: str = "ogbl-ddi", features: bool = False) -> Path:
    """Four nodes on a path, its three edges for training, one positive and two negatives to evaluate."""
    folder = root / "ogb" / name.replace("-", "_")
    write_csv(folder / "raw" / "edge.csv.gz", np.array([[0, 1], [1, 2], [2, 3]]))
    write_csv(folder / "raw" / "num-node-list.csv.gz", [4])
    write_csv(folder / "raw" / "num-edge-list.csv.gz", [3])
    if features:
        write_csv(folder / "raw" / "node-feat.csv.gz", np.arange(8, dtype=float).reshape(4, 2) / 10)
        write_csv(folder / "raw" / "edge_weight.csv.gz", [1, 1, 2])
        write_csv(folder / "raw" / "edge_year.csv.gz", [2010, 2011, 2012])
    split = folder / "split" / ("time" if name == "ogbl-collab" else "target")
    split.mkdir(parents=True)
    torch.save({"edge": np.array([[0, 1], [1, 2], [2, 3]])}, split / "train.pt")
    for part in ("valid", "test"):
        torch.save({"edge": np.array([[0, 2]]), "edge_neg": np.array([[1, 3], [0, 3]])}, split / f"{part}.pt")
    return folder
