"""Model selection on a validation score, shared by the training loops of the suites."""

from __future__ import annotations

from typing import Any, Callable, Optional

from geomlearn.argument_checks import check_int


class BestEpoch:
    """The result of the epoch with the highest validation score so far, and early stopping.

    ``update(score, result)`` after every evaluation: a score strictly above the best so far (the first always
    is) keeps ``result()``, which is only called then (the test figures of that epoch); equal scores do not
    count, so ties go to the earlier epoch. With ``patience``, ``update`` returns ``True`` once that many
    evaluations in a row brought no better score. Scores are any ordered values: a float, or a tuple compared
    lexicographically (validation accuracy, then minus the validation loss).
    """

    def __init__(self, patience: Optional[int] = None):
        self.patience = check_int("patience", patience, optional=True)
        self.score: Any = None
        self.result: dict = {}
        self.stale = 0

    def update(self, score: Any, result: Callable[[], dict]) -> bool:
        """Record one evaluation; returns whether to stop."""
        if self.score is None or score > self.score:
            self.score, self.result, self.stale = score, result(), 0
            return False
        self.stale += 1
        return self.patience is not None and self.stale >= self.patience

    def progress(self) -> dict:
        """What a progress bar shows: the kept epoch and how many evaluations in a row brought nothing better."""
        patience = "" if self.patience is None else f"/{self.patience}"
        return {"best epoch": self.result.get("epoch"), "stale": f"{self.stale}{patience}"}
