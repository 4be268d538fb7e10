import shutil

import pytest

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


@pytest.fixture
def folds_copy(monkeypatch, tmp_path):
    needs_data("movielens/ml-100k/u1.base")
    folder = tmp_path / "movielens" / "ml-100k"
    shutil.copytree(data_root() / "movielens" / "ml-100k", folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    return folder


def test_a_truncated_item_file_is_refused_not_read_as_items_without_genres(folds_copy):
    lines = (folds_copy / "u.item").read_text(encoding="latin-1").splitlines(keepends=True)
    (folds_copy / "u.item").write_text("".join(lines[:1500]), encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"u.item': 182 of the 1682 items are missing \(the first is item 1501\)"):
        movielens_100k()
    (folds_copy / "u.item").write_text("".join(lines[:3] + lines[2:]), encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"u.item' line 4: item 3 is listed a second time"):
        movielens_100k()
    (folds_copy / "u.item").write_text("".join(lines[:-1] + [lines[-1].replace("|0|", "|7|", 1)]), encoding="latin-1")
    with pytest.raises(DataFormatError, match=r"u.item' line 1682: expected an item id .* genre flags 0 / 1"):
        movielens_100k()


@pytest.mark.parametrize("file", ["u2.base", "u.item"])
def test_a_missing_fold_or_item_file_is_a_data_not_found_error(folds_copy, file):
    from geomlearn.datasets import DataNotFoundError

    (folds_copy / file).unlink()
    with pytest.raises(DataNotFoundError, match=rf"{file}' does not exist"):
        movielens_100k()


def test_a_fractional_rating_is_refused(folds_copy):
    lines = (folds_copy / "u3.test").read_text().splitlines(keepends=True)
    (folds_copy / "u3.test").write_text("".join(lines[:2] + ["1\t50\t4.5\t883603013\n"] + lines[2:]))
    with pytest.raises(DataFormatError, match=r"u3.test': not a readable table of numbers"):
        movielens_100k()


def test_the_archive_is_unpacked_whole_or_not_at_all(monkeypatch, tmp_path):
    import zipfile

    needs_data("movielens/ml-100k/u1.base")
    source = data_root() / "movielens" / "ml-100k"
    folder = tmp_path / "movielens"
    folder.mkdir()
    with zipfile.ZipFile(folder / "ml-100k.zip", "w") as archive:
        for path in sorted(source.iterdir()):
            archive.write(path, f"ml-100k/{path.name}")
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    monkeypatch.delenv("GEOMLEARN_REQUIRE_DATA", raising=False)
    (folder / "ml-100k.zip").write_bytes((folder / "ml-100k.zip").read_bytes()[:100_000])     # cut short
    with pytest.raises(DataFormatError, match=r"ml-100k.zip': not a readable zip archive"):
        movielens_100k()
    assert sorted(p.name for p in folder.iterdir()) == ["ml-100k.zip"]                       # nothing half-unpacked
    with zipfile.ZipFile(folder / "ml-100k.zip", "w") as archive:
        for path in sorted(source.iterdir()):
            archive.write(path, f"ml-100k/{path.name}")
    assert movielens_100k().num_edges == 100_000
