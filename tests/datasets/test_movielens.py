import shutil

import pytest
import torch

from geomlearn.datasets import DataFormatError, data_root, movielens_100k

from ..real_data import needs_data


def test_real_folds():
    needs_data("movielens/ml-100k/u1.base")
    data = movielens_100k()
    assert data.num_edges == 100_000 and (data.num_users, data.num_items) == (943, 1682)
    assert data.test_mask.sum(0).tolist() == [20_000] * 5
    assert (data.test_mask.sum(1) == 1).all()                     # the five test sets partition the ratings
    users, items = data.edge_index
    assert int(users.max()) < 943 <= int(items.min()) and int(items.max()) < 943 + 1682
    assert set(data.rating.unique().tolist()) == {1, 2, 3, 4, 5}
    assert data.item_genres.shape == (1682, 19) and (data.item_genres.sum(1) >= 1).all()
    # A hand-checked rating: user 1 gave movie 1 (Toy Story) 5 stars in the u.data of GroupLens.
    position = ((users == 0) & (items == 943)).nonzero().item()
    assert data.rating[position] == 5


@pytest.mark.parametrize("line, message", [
    ("0\t50\t5\t883603013\n", "line 3: user 0, item 50, rating 5 outside users 1..943"),
    ("1\t50\t5\t883603013\t\n", "the number of columns changed"),
])
def test_malformed_line_names_the_file_and_line(monkeypatch, tmp_path, line, message):
    needs_data("movielens/ml-100k/u1.base")
    folder = tmp_path / "movielens" / "ml-100k"
    shutil.copytree(data_root() / "movielens" / "ml-100k", folder)
    (folder / "u3.test").chmod(0o644)
    lines = (folder / "u3.test").read_text().splitlines(keepends=True)
    (folder / "u3.test").write_text("".join(lines[:2] + [line] + lines[2:]))
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match=f"u3.test.*{message}"):
        movielens_100k()


def test_folds_that_disagree_are_rejected(monkeypatch, tmp_path):
    needs_data("movielens/ml-100k/u1.base")
    folder = tmp_path / "movielens" / "ml-100k"
    shutil.copytree(data_root() / "movielens" / "ml-100k", folder)
    (folder / "u4.test").chmod(0o644)
    lines = (folder / "u4.test").read_text().splitlines(keepends=True)
    (folder / "u4.test").write_text("".join(lines[1:]))
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match="u4.base' \\+ u4.test do not hold the same ratings"):
        movielens_100k()
