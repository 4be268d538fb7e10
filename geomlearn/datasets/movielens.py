"""MovieLens 100K (Harper & Konstan, 2015) as a bipartite rating graph with its five standard folds."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from .file_checks import existing, not_empty, read_table
from .root import DataFormatError, data_required, fetch_file, require_file

NUM_USERS, NUM_ITEMS, NUM_RATINGS, NUM_GENRES = 943, 1682, 100_000, 19
_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"


def _folder() -> Path:
    what = "MovieLens 100K"
    try:
        return require_file("movielens/ml-100k/u1.base", what=what).parent
    except FileNotFoundError:
        if data_required():
            raise
    archive = fetch_file("movielens/ml-100k.zip", _URL, what=what)
    # Unpacked beside the archive and renamed into place when complete: an interrupted unpacking leaves no
    # half folder that a later call would read.
    with tempfile.TemporaryDirectory(dir=archive.parent, prefix=".ml-100k.") as unpacking:
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(unpacking)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise DataFormatError(f"'{archive}': not a readable zip archive: {err}") from err
        os.replace(Path(unpacking) / "ml-100k", archive.parent / "ml-100k")
    return require_file("movielens/ml-100k/u1.base", what=what).parent


def _read_ratings(path: Path) -> np.ndarray:
    """``[R, 4]`` int64 rows ``(user, item, rating, timestamp)`` with 1-based ids, every line checked."""
    rows = read_table(path, dtype=np.int64, columns=4, delimiter="\t")     # user, item, rating, timestamp
    not_empty(path, "the ratings", rows)
    bad = (rows[:, 0] < 1) | (rows[:, 0] > NUM_USERS) | (rows[:, 1] < 1) | (rows[:, 1] > NUM_ITEMS) \
        | (rows[:, 2] < 1) | (rows[:, 2] > 5)
    if bad.any():
        line = int(np.argmax(bad))
        user, item, rating, _ = rows[line]
        raise DataFormatError(f"'{path}' line {line + 1}: user {user}, item {item}, rating {rating} outside "
                              f"users 1..{NUM_USERS}, items 1..{NUM_ITEMS}, ratings 1..5")
    return rows


def _read_genres(path: Path) -> torch.Tensor:
    """``[1682, 19]`` 0 / 1 genre flags: one line per item, each item exactly once (a truncated file is an error,
    not items without genres)."""
    genres = np.zeros((NUM_ITEMS, NUM_GENRES), dtype=np.float32)
    seen = np.zeros(NUM_ITEMS, dtype=bool)
    with open(existing(path), encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("|")
            if len(fields) != 5 + NUM_GENRES or not fields[0].isdigit() or not 1 <= int(fields[0]) <= NUM_ITEMS \
                    or any(flag not in ("0", "1") for flag in fields[5:]):
                raise DataFormatError(f"'{path}' line {number}: expected an item id in 1..{NUM_ITEMS}, four fields "
                                      f"and {NUM_GENRES} genre flags 0 / 1, '|'-separated, got {line.rstrip()!r}")
            item = int(fields[0]) - 1
            if seen[item]:
                raise DataFormatError(f"'{path}' line {number}: item {item + 1} is listed a second time")
            seen[item] = True
            genres[item] = [float(flag) for flag in fields[5:]]
    if not seen.all():
        raise DataFormatError(f"'{path}': {int((~seen).sum())} of the {NUM_ITEMS} items are missing (the first is "
                              f"item {int(np.argmin(seen)) + 1}); the file is truncated?")
    return torch.from_numpy(genres)


def movielens_100k() -> Data:
    """MovieLens 100K: 100,000 ratings (1-5) of 1,682 movies by 943 users, with the five u1..u5 folds.

    Users are nodes ``0..942`` and movies nodes ``943..2624`` of one graph; rating ``r`` is the edge
    ``user -> movie``. The ratings are read from the fold files ``u{k}.base`` / ``u{k}.test`` (each pair
    holds all 100,000 ratings; the loader checks that the five pairs agree), every line checked: a
    malformed line or an id outside the ranges of ``u.info`` raises, naming the file and line.

    Returns:
        ``Data(edge_index [2, R], rating [R] (long), time [R] (unix seconds), test_mask [R, 5] (bool; column
        ``k`` marks the test ratings of fold ``u{k+1}``, the rest is its training set), item_genres
        [1682, 19], num_users=943, num_items=1682)``.

    Raises:
        DataNotFoundError: the files are missing and could not be downloaded.
        DataFormatError: a malformed line, or folds that do not hold the same ratings.
    """
    folder = _folder()
    ratings, test_columns = None, []
    for fold in range(1, 6):
        base, test = _read_ratings(folder / f"u{fold}.base"), _read_ratings(folder / f"u{fold}.test")
        both = np.concatenate([base, test])
        order = np.lexsort((both[:, 1], both[:, 0]))
        both, in_test = both[order], np.arange(len(both))[order] >= len(base)
        if ratings is None:
            ratings = both
            if len(np.unique(ratings[:, 0] * (NUM_ITEMS + 1) + ratings[:, 1])) != len(ratings):
                raise DataFormatError(f"'{folder}/u1.base' + u1.test: a (user, movie) pair is rated twice")
        elif not np.array_equal(both, ratings):
            raise DataFormatError(f"'{folder}/u{fold}.base' + u{fold}.test do not hold the same ratings as fold u1")
        test_columns.append(torch.from_numpy(in_test))
    if len(ratings) != NUM_RATINGS:
        raise DataFormatError(f"'{folder}': the folds hold {len(ratings)} ratings, expected {NUM_RATINGS}")
    table = torch.from_numpy(ratings)
    edge_index = torch.stack([table[:, 0] - 1, table[:, 1] - 1 + NUM_USERS])
    return Data(edge_index=edge_index, rating=table[:, 2], time=table[:, 3], test_mask=torch.stack(test_columns, 1),
                item_genres=_read_genres(folder / "u.item"), num_users=NUM_USERS, num_items=NUM_ITEMS,
                num_nodes=NUM_USERS + NUM_ITEMS)
