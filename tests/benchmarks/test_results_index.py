from pathlib import Path

from benchmarks.results_index import NOT_RECORDED, index_markdown, run_summary, write_index

RESULTS = Path(__file__).resolve().parents[2] / "results"


def test_the_committed_index_lists_every_run_as_its_table_says():
    assert (RESULTS / "README.md").read_text(encoding="utf-8") == index_markdown(RESULTS), \
        "results/README.md is stale: run python -m benchmarks index"


def test_a_runs_header_and_cases_are_read_and_a_missing_field_is_said(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "new.md").write_text("# scale\n\nMachine: a CPU  \nCommit: abc1234  \nCommand: `python -m benchmarks "
                                     "scale --only 'a|b'`  \nRun: 2026-12-01 10:00 UTC\n\n| case | impl | time (ms) |\n"
                                     "|---|---|---|\n| a | geomlearn | 1 |\n| a | peer | 2 |\n| b | geomlearn | 3 |\n")
    (tmp_path / "old" / "graph.md").write_text("# graph\n\nRun: 2026-11-01 09:00 UTC\n\n| case | impl |\n|---|---|\n"
                                               "| node Cora GCN | geomlearn |\n")
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "graph.md").write_text("# graph\n")                  # a local quick run: not indexed
    summary = run_summary(tmp_path / "new.md")
    assert summary == {"suite": "scale", "Commit": "abc1234", "Command": "`python -m benchmarks scale --only 'a|b'`",
                       "Run": "2026-12-01 10:00 UTC", "cases": ["a", "b"]}
    assert run_summary(tmp_path / "old" / "graph.md")["Commit"] == NOT_RECORDED
    index = write_index(tmp_path).read_text(encoding="utf-8")
    assert "| [new](new.md) | scale | a, b | `python -m benchmarks scale --only 'a\\|b'` | abc1234 |" in index
    assert f"| [old/graph](old/graph.md) | graph | node Cora GCN | {NOT_RECORDED} | {NOT_RECORDED} |" in index
    assert "quick/graph" not in index and not list(tmp_path.glob("*.partial"))
