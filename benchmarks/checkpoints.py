"""Finished pieces of a long case (one data split, one seed) kept on disk, so that an interrupted run resumes.

A case such as ten splits of O(d)-NSD on Squirrel runs for hours; every split is written to
``<folder>/<case>/<unit>.json`` the moment it finishes, with the settings it ran with, the time and the git
commit of the code. ``python -m benchmarks ... --resume`` then reads the finished units instead of running them
again, and the command line removes the folder once the suite's results are written. Under ``results/`` git
tracks the unit files (``.gitignore``), so a run that outlasts one machine is committed as it goes and resumes on
another from a clone.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import shutil
import sys
from pathlib import Path
from typing import Callable, Optional

from geomlearn.datasets.root import write_atomically

from .provenance import git_commit


def _file_name(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``.``, ``-`` and ``_`` as one ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _read_unit(path: Path, bounds: dict[str, tuple[float, float]]) -> dict:
    """A stored unit, checked: its JSON whole, its fields present, its bounded results finite numbers in range."""
    def refuse(problem: str) -> ValueError:
        return ValueError(f"--resume: '{path}' {problem}; delete the file to run the unit again")

    try:
        stored = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise refuse(f"is not a finished unit's JSON ({err})") from err
    fields = ("case", "unit", "settings", "commit", "result")
    if not isinstance(stored, dict) or any(field not in stored for field in fields) or \
            not isinstance(stored["result"], dict):
        raise refuse(f"lacks a unit's fields {list(fields)} with a dict of results")
    for key, (low, high) in bounds.items():
        value = stored["result"].get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                not low <= value <= high:
            raise refuse(f"holds {key} = {value!r}, expected a number in [{low}, {high}]")
    return stored


class Checkpoints:
    """Results of finished units by case, under ``folder`` (None: nothing kept, every unit runs).

    Args:
        folder: where the units are written; None keeps nothing.
        resume: read the units an earlier run of the same case finished (with the same ``settings``) instead of
            running them. Without it, a case's earlier units are deleted when the case starts, so that a later
            ``resume`` never mixes two runs.
    """

    def __init__(self, folder: Optional[Path] = None, resume: bool = False):
        if resume and folder is None:
            raise ValueError("resume: needs a folder to read the finished units from, got folder=None")
        self.folder, self.resume = folder, resume
        self._started: set[str] = set()
        self.resumed: dict[str, dict[str, Optional[str]]] = {}   # case -> {unit: commit} read from disk

    def run(self, case: str, unit: str, settings: dict, compute: Callable[[], dict],
            bounds: Optional[dict[str, tuple[float, float]]] = None) -> dict:
        """``compute()``'s result for ``unit`` of ``case``, or the stored one when resuming.

        ``settings`` (JSON values) identify the run: a stored unit with other settings raises ValueError rather
        than being reused or overwritten. The result must be a dict of JSON values. A stored unit is checked before
        it is reused: a file that is not a finished unit's JSON (truncated, edited), or a result whose value of a
        key in ``bounds`` is missing, not a finite number or outside its ``(low, high)`` (an accuracy of 7.5 for a
        fraction in [0, 1]), raises ValueError naming the file rather than entering the tables.
        """
        if self.folder is None:
            return compute()
        settings = json.loads(json.dumps(settings))             # as stored: tuples become lists
        folder = self.folder / _file_name(case)
        if case not in self._started:
            self._started.add(case)
            if not self.resume and folder.exists():
                earlier = len(list(folder.glob("*.json")))
                print(f"{case}: starting afresh, deleting {earlier} finished unit(s) of an earlier run in {folder} "
                      "(--resume would have reused them)", file=sys.stderr)
                shutil.rmtree(folder)
        path = folder / f"{_file_name(unit)}.json"
        if self.resume and path.exists():
            stored = _read_unit(path, bounds or {})
            if stored["settings"] != settings:
                raise ValueError(f"--resume: {path} was run with settings {stored['settings']}, this run asks for "
                                 f"{settings}; delete the file or run without --resume")
            self.resumed.setdefault(case, {})[unit] = stored["commit"]
            return stored["result"]
        result = compute()
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = json.dumps(dict(case=case, unit=unit, settings=settings, finished=stamp, commit=git_commit(),
                               result=result), indent=1)
        write_atomically(path, lambda temporary: temporary.write_text(text))   # whole or absent, even if killed
        return result

    def clear(self) -> None:
        """Delete the units of the cases this run computed or resumed: their results are written and nothing of
        them is left to resume. Other cases' units stay, so that runs of different cases into one ``--out``
        (``--only`` in two processes) do not delete each other's; the folder goes once it is empty."""
        if self.folder is None:
            return
        for case in self._started:
            shutil.rmtree(self.folder / _file_name(case), ignore_errors=True)
        if self.folder.exists() and not any(self.folder.iterdir()):
            self.folder.rmdir()
