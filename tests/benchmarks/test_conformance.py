"""The peer-test runner: swaps only what it is told, refuses a swap that no longer matches, counts per file and
tells listed differences from unexpected failures."""

import pytest

from benchmarks import conformance
from benchmarks.conformance import PeerFile, known_difference, run_file, swapped_source

PEER_TEST = '''import math
from peerlib import sqrt


def test_square_root():
    assert sqrt(9.0) == 3.0


def test_negative():
    assert math.isnan(sqrt(-1.0))


def test_skipped():
    import pytest
    pytest.skip("not here")


def test_fails_against_the_peer_too():
    assert sqrt(4.0) == 3.0
'''

PEER_LIBRARY = '''import math


def sqrt(x):
    return math.sqrt(x) if x >= 0 else float("nan")
'''


def test_swaps_exactly_the_named_line():
    peer_file = PeerFile("peer", "tests/test_peer.py", (("from peerlib import sqrt", "from math import sqrt"),))
    swapped = swapped_source(peer_file, PEER_TEST)
    assert "from math import sqrt" in swapped and "peerlib" not in swapped
    assert swapped.replace("from math import sqrt", "from peerlib import sqrt") == PEER_TEST


def test_a_swap_that_no_longer_matches_is_an_error():
    peer_file = PeerFile("peer", "tests/test_peer.py", (("from peerlib import cbrt", "from math import cbrt"),))
    with pytest.raises(ValueError, match="expected the line 'from peerlib import cbrt' once, found it 0 times"):
        swapped_source(peer_file, PEER_TEST)


def test_counts_and_sorts_failures(tmp_path, monkeypatch):
    checkout = tmp_path / "peer"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "test_peer.py").write_text(PEER_TEST)
    (checkout / "tests" / "peerlib.py").write_text(PEER_LIBRARY)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setitem(conformance.KNOWN_DIFFERENCES, "test_peer.py::test_negative", "math.sqrt raises instead")
    # math.sqrt(-1) raises where the peer returns NaN: one listed failure; one test fails against the peer too.
    peer_file = PeerFile("peer", "tests/test_peer.py", (("from peerlib import sqrt", "from math import sqrt"),),
                         support=("tests/peerlib.py",))
    result = run_file(peer_file, checkout, work)
    assert (result.passed, result.failed, result.skipped) == (1, 1, 1)
    assert result.known == ["test_peer.py::test_negative"] and result.unexpected == []
    assert result.peer_fails == ["test_peer.py::test_fails_against_the_peer_too"]
    assert known_difference("test_peer.py::test_negative[float32]") == "test_peer.py::test_negative"
    with pytest.raises(FileNotFoundError, match="holds no tests/missing.py"):
        run_file(PeerFile("peer", "tests/missing.py", ()), checkout, work)
