"""Which code produced a result: the git commit of the working tree the benchmarks run from."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional


def git_commit() -> Optional[str]:
    """The short git commit of the working tree these benchmarks run from (``+`` when it has changes), or None."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+" if dirty else "")
