from pathlib import Path

import pytest

from geomlearn.datasets import DataNotFoundError, data_required, data_root, require_file


def test_data_root_follows_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    assert data_root() == tmp_path.resolve()
    monkeypatch.delenv("GEOMLEARN_DATA")
    assert data_root() == Path.home() / ".cache" / "geomlearn"


def test_require_file_names_the_file_and_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    (tmp_path / "planetoid").mkdir()
    assert require_file("planetoid", what="Planetoid") == tmp_path.resolve() / "planetoid"
    with pytest.raises(DataNotFoundError, match=r"Cora: file '.*planetoid/Cora/raw/ind.cora.x' does not exist "
                                                r"under \$GEOMLEARN_DATA="):
        require_file("planetoid/Cora/raw/ind.cora.x", what="Cora")


def test_data_required_reads_the_switch(monkeypatch):
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "1")
    assert data_required()
    monkeypatch.setenv("GEOMLEARN_REQUIRE_DATA", "0")
    assert not data_required()


def test_shared_data_is_where_the_variable_points():
    # CI exports GEOMLEARN_DATA=../shared/data with GEOMLEARN_REQUIRE_DATA=1: then the folder must be real.
    if not data_required():
        pytest.skip("GEOMLEARN_REQUIRE_DATA is not set")
    assert require_file("planetoid/Cora/raw", what="Cora (Planetoid)").is_dir()
