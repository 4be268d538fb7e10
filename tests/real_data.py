"""Tests that read the real data sets under ``$GEOMLEARN_DATA`` skip where the data is absent, and fail
instead when ``$GEOMLEARN_REQUIRE_DATA`` is set (as CI sets it), so a missing folder is never silent."""

from __future__ import annotations

import pytest

from geomlearn.datasets import data_required, data_root


def needs_data(*relative: str) -> None:
    """Skip the calling test unless every ``data_root() / path`` exists (fail if data is required)."""
    missing = [path for path in relative if not (data_root() / path).exists()]
    if missing:
        message = f"data not found under {data_root()}: {missing}"
        if data_required():
            pytest.fail(message)
        pytest.skip(message)
