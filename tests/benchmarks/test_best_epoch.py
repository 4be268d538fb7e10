import pytest

from benchmarks.best_epoch import BestEpoch


def test_keeps_the_result_of_the_first_strictly_best_score_and_stops_after_patience():
    best, calls = BestEpoch(patience=2), []

    def result(epoch):
        calls.append(epoch)
        return {"epoch": epoch}

    stops = [best.update(score, lambda e=epoch: result(e)) for epoch, score in enumerate([0.3, 0.5, 0.5, 0.4])]
    assert stops == [False, False, False, True]
    assert best.result == {"epoch": 1} and best.score == 0.5
    assert calls == [0, 1]  # result() only runs for a new best


def test_a_better_score_resets_the_patience():
    best = BestEpoch(patience=2)
    stops = [best.update(score, dict) for score in [1.0, 0.9, 1.1, 0.9, 0.8]]
    assert stops == [False, False, False, False, True]


def test_tuples_break_ties_and_no_patience_never_stops():
    best = BestEpoch()
    scores = [(0.8, -0.5), (0.8, -0.4), (0.7, 0.0)] + [(0.1, 0.0)] * 50
    assert not any(best.update(s, lambda s=s: {"score": s}) for s in scores)
    assert best.result == {"score": (0.8, -0.4)}


@pytest.mark.parametrize("patience", [0, -1, 2.0, True])
def test_bad_patience_is_named(patience):
    with pytest.raises(ValueError, match="patience"):
        BestEpoch(patience)


def test_progress_shows_the_kept_epoch_and_the_stale_count():
    best = BestEpoch(patience=3)
    assert best.progress() == {"best epoch": None, "stale": "0/3"}
    for epoch, score in enumerate([0.2, 0.6, 0.5, 0.4]):
        best.update(score, lambda e=epoch: {"epoch": e})
    assert best.progress() == {"best epoch": 1, "stale": "2/3"}
    assert BestEpoch().progress() == {"best epoch": None, "stale": "0"}
