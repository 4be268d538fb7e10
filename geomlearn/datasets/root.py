"""Where geomlearn's loaders look for data sets.

Every loader resolves its files under one folder, :func:`data_root`:

* ``$GEOMLEARN_DATA`` when that variable is set (CI and offline machines point it at a folder of
  pre-downloaded data laid out as torch_geometric's loaders expect it);
* ``~/.cache/geomlearn`` otherwise (loaders download into it on a machine with internet).

:func:`require_file` is the single place that turns "the file is not there" into an error a person can
act on: it names the missing file and the variable to set.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

DATA_ENV = "GEOMLEARN_DATA"
REQUIRE_ENV = "GEOMLEARN_REQUIRE_DATA"


def data_root() -> Path:
    """The folder data sets are read from and downloaded into.

    Returns ``Path($GEOMLEARN_DATA)`` when the variable is set and non-empty, else
    ``~/.cache/geomlearn``. The folder is not created here; loaders create what they download into.
    """
    configured = os.environ.get(DATA_ENV, "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "geomlearn"


def data_required() -> bool:
    """Whether ``$GEOMLEARN_REQUIRE_DATA`` asks that a missing data set be an error, not a skip."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


class DataNotFoundError(FileNotFoundError):
    """A data file is missing and could not be downloaded."""


class DataFormatError(ValueError):
    """A data file exists but does not hold what its loader expects (truncated, wrong keys or shapes)."""


def require_file(relative: str | os.PathLike, *, what: str) -> Path:
    """Return ``data_root() / relative`` if it exists, else raise :class:`DataNotFoundError`.

    Args:
        relative: path of the file (or folder) inside the data root.
        what: a short description of the data set for the message, e.g. ``"Cora (Planetoid)"``.
    """
    path = data_root() / relative
    if path.exists():
        return path
    source = (
        f"${DATA_ENV}={os.environ[DATA_ENV]}" if os.environ.get(DATA_ENV, "").strip()
        else f"the default cache (set ${DATA_ENV} to use another folder)"
    )
    raise DataNotFoundError(
        f"{what}: file '{path}' does not exist under {source}, and it could not be downloaded. "
        f"Download it on a machine with internet, or point ${DATA_ENV} at a folder that holds "
        f"'{relative}'."
    )


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary)`` for a temporary file beside ``path`` and rename it to ``path`` once ``write``
    returns: ``path`` is the whole file or absent, never a partial one. The temporary file is removed on error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def fetch_file(relative: str | os.PathLike, url: str, *, what: str) -> Path:
    """``data_root() / relative``, downloaded from ``url`` first when it is not there.

    The download goes to a temporary file that is renamed into place once complete (``write_atomically``), so
    an interrupted download never leaves a partial file behind. With ``$GEOMLEARN_REQUIRE_DATA`` set nothing is
    downloaded (offline CI): a missing file raises :class:`DataNotFoundError` at once.
    """
    path = data_root() / relative
    if path.exists() or data_required():
        return require_file(relative, what=what)
    try:
        write_atomically(path, lambda partial: urllib.request.urlretrieve(url, partial))
    except OSError as err:
        raise DataNotFoundError(f"{what}: file '{path}' is missing and downloading it from {url} failed: {err}") from err
    return path
