"""The link-prediction knowledge graphs FB15k-237 and WN18RR, laid out as torch_geometric's readers read them."""

from __future__ import annotations

from pathlib import Path

import torch
from torch_geometric.data import Data

from .file_checks import existing
from .root import DataFormatError, require_file

KNOWLEDGE_GRAPHS = {"fb15k-237": "FB15k-237", "wn18rr": "WN18RR"}
SPLITS = ("train", "valid", "test")


def _lines(path: Path, fields: int) -> list[list[str]]:
    """Tab-separated lines of ``fields`` fields each (``\\r\\n`` or ``\\n`` ends), every line checked."""
    rows = []
    with open(existing(path), encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != fields or not all(parts):
                raise DataFormatError(f"'{path}' line {number}: expected {fields} non-empty tab-separated fields, "
                                      f"got {line.rstrip()!r}")
            rows.append(parts)
    if not rows:
        raise DataFormatError(f"'{path}': no lines")
    return rows


def _dictionary(path: Path) -> dict[str, int]:
    """``id\\tname`` lines: the ids must be 0..n-1, each once."""
    ids = {}
    for number, (index, name) in enumerate(_lines(path, 2), start=1):
        if not index.isdigit() or int(index) != number - 1 or name in ids:
            raise DataFormatError(f"'{path}' line {number}: expected id {number - 1} and a new name, got "
                                  f"{index!r} {name!r}")
        ids[name] = int(index)
    return ids


def knowledge_graph(name: str) -> Data:
    r"""FB15k-237 (Toutanova & Chen, 2015) or WN18RR (Dettmers et al., 2018) for link prediction.

    Read from ``$GEOMLEARN_DATA/kg/<Name>/raw/{train,valid,test}.txt`` (``head\trelation\ttail``), and for
    FB15k-237 its ``entities.dict`` / ``relations.dict`` (torch_geometric's ``RelLinkPredDataset`` layout, whose
    ids it keeps). WN18RR's files have no dictionaries: entities are numbered in order of first appearance over
    train, valid and test, relations in sorted order. Nothing is written.

    As torch_geometric's ``RelLinkPredDataset``, the message-passing graph is the training triples in both
    directions: ``edge_index [2, 2T]`` with ``edge_type`` ``r`` for ``head -> tail`` and ``r + R`` for the
    reverse, so a layer takes ``num_relations = 2R``.

    Returns:
        ``Data(num_nodes, num_relations (R), edge_index, edge_type, {train,valid,test}_edge_index [2, T],
        {train,valid,test}_edge_type [T])``.

    Raises:
        ValueError: unknown ``name``.
        DataNotFoundError: a file is missing.
        DataFormatError: a line that is not three fields, a dictionary out of order, an entity or relation
            that FB15k-237's dictionaries do not list.
    """
    key = str(name).lower()
    if key not in KNOWLEDGE_GRAPHS:
        raise ValueError(f"name: expected one of {sorted(KNOWLEDGE_GRAPHS.values())}, got {name!r}")
    title = KNOWLEDGE_GRAPHS[key]
    raw = require_file(f"kg/{title}/raw/train.txt", what=title).parent
    triples = {split: _lines(raw / f"{split}.txt", 3) for split in SPLITS}
    if key == "fb15k-237":
        entities, relations = _dictionary(raw / "entities.dict"), _dictionary(raw / "relations.dict")
    else:
        entities = {}
        for split in SPLITS:
            for head, _, tail in triples[split]:
                entities.setdefault(head, len(entities))
                entities.setdefault(tail, len(entities))
        relations = {r: i for i, r in enumerate(sorted({r for split in SPLITS for _, r, _ in triples[split]}))}
    data = Data(num_nodes=len(entities))
    data.num_relations = len(relations)
    for split in SPLITS:
        ids = []
        for number, (head, relation, tail) in enumerate(triples[split], start=1):
            if head not in entities or tail not in entities or relation not in relations:
                raise DataFormatError(f"'{raw / (split + '.txt')}' line {number}: {head!r} {relation!r} {tail!r} "
                                      f"is not in the dictionaries")
            ids.append((entities[head], relations[relation], entities[tail]))
        heads, types, tails = torch.tensor(ids, dtype=torch.long).T
        data[f"{split}_edge_index"] = torch.stack([heads, tails])
        data[f"{split}_edge_type"] = types
    heads, tails = data.train_edge_index
    data.edge_index = torch.stack([torch.cat([heads, tails]), torch.cat([tails, heads])])
    data.edge_type = torch.cat([data.train_edge_type, data.train_edge_type + data.num_relations])
    return data
