import json
import subprocess
from pathlib import Path

import pytest
import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.checkpoints import Checkpoints
from benchmarks.measure import peak_memory_mib, time_call
from benchmarks.registry import SUITES, Context, Record, register
from benchmarks.report import markdown_table, write_results


def test_time_call_reports_a_median_over_repeats():
    calls = []
    timing = time_call(lambda: calls.append(1), torch.device("cpu"), warmup=2, min_repeats=5, budget_s=0.0)
    assert timing.n == 5 and len(calls) == 7 and timing.median_s >= 0


def test_peak_memory_sees_a_large_temporary():
    peak = peak_memory_mib(lambda: torch.ones(64 * 2**20 // 4).sum(), torch.device("cpu"))
    if peak is None:
        pytest.skip("no /proc/self/clear_refs on this platform")
    assert 48 < peak < 256  # a 64 MiB tensor, alive only inside the call


def test_peak_memory_sees_a_temporary_that_fits_in_freed_heap():
    """8 MiB blocks freed just before are not reused unseen: the measured call's 8 MiB temporary shows."""
    freed = [torch.ones(2 * 2**20) for _ in range(4)]
    del freed
    peak = peak_memory_mib(lambda: torch.ones(2 * 2**20).sum(), torch.device("cpu"))
    if peak is None:
        pytest.skip("no /proc/self/clear_refs on this platform")
    assert 6 < peak < 64


@pytest.mark.parametrize("quick, repeats, expected", [(False, None, 10), (True, None, 1), (True, 3, 3),
                                                        (False, 4, 4), (False, 10, 10)])
def test_repeat_count_follows_repeats_then_quick_then_the_protocol(quick, repeats, expected):
    ctx = Context(quick=quick, device=torch.device("cpu"), repeats=repeats)
    assert ctx.repeat_count(10, "splits") == expected


def test_repeat_count_refuses_more_than_the_protocol_has():
    ctx = Context(quick=False, device=torch.device("cpu"), repeats=6)
    with pytest.raises(ValueError, match=r"--repeats: expected at most 5 \(the protocol's folds\), got 6"):
        ctx.repeat_count(5, "folds")


def test_markdown_table_pivots_metrics_and_keeps_notes():
    records = [
        Record("s", "case A", "ours", "time", 2.0, "ms", std=0.1, n=5),
        Record("s", "case A", "peer", "time", 6.0, "ms", std=0.2, n=5),
        Record("s", "case A", "peer", "speedup of geomlearn", 3.0, "x"),
        Record("s", "case B", "peer", "time", None, "ms", note="skipped: too big"),
        Record("s", "case B", "peer", "chosen epoch", 12, ""),
    ]
    table = markdown_table(records).splitlines()
    assert table[0] == "| case | impl | time (ms) | speedup of geomlearn (x) | chosen epoch | note |"
    assert table[2] == "| case A | ours | 2 ± 0.1 |  |  |  |"
    assert table[3] == "| case A | peer | 6 ± 0.2 | 3.00x |  |  |"
    assert table[4] == "| case B | peer | — |  | 12 | skipped: too big |"


def test_write_results_writes_json_records_and_a_headed_table(tmp_path):
    records = [Record("s", "case", "ours", "time", 1.5, "ms", std=0.1, n=3, params={"E": 10})]
    path = write_results("s", records, tmp_path, torch.device("cpu"), extra="a summary line")
    payload = json.loads((tmp_path / "s.json").read_text())
    assert {"suite", "case", "impl", "metric", "value", "unit", "std", "n"} <= set(payload[0])
    assert payload[0]["value"] == 1.5 and payload[0]["params"] == {"E": 10}
    text = path.read_text()
    assert text.startswith("# s\n\nMachine: ") and "torch " + torch.__version__ in text and "a summary line" in text


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="name: a suite called 'kernels' is already registered"):
        register("kernels", "again")(lambda ctx: [])


def test_kernels_suite_measures_geomlearn_against_its_peer_in_one_run():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="block_spmm d=3 C=32 E=1e+05 fwd+bwd")
    records = SUITES["kernels"].run(ctx)
    times = {r.impl: r.value for r in records if r.metric == "time"}
    assert set(times) == {"geomlearn", "scalar COO"}
    speedup = next(r for r in records if r.metric == "speedup of geomlearn")
    assert speedup.value == pytest.approx(times["scalar COO"] / times["geomlearn"])
    assert "Copy bandwidth" in ctx.summary


def test_kernels_suite_times_householder_product_against_lapack():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="householder_product d=3")
    records = SUITES["kernels"].run(ctx)
    assert {r.case for r in records} == {"householder_product d=3 E=1e+05 fwd", "householder_product d=3 E=1e+05 fwd+bwd"}
    times = {(r.case, r.impl): r.value for r in records if r.metric == "time"}
    assert {impl for _, impl in times} == {"geomlearn", "torch.linalg.householder_product"}
    for r in records:
        if r.metric == "speedup of geomlearn":
            assert r.value == pytest.approx(times[(r.case, r.impl)] / times[(r.case, "geomlearn")])


def test_kernels_suite_times_the_index_check_beside_the_spmm_it_guards():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="index check")
    records = SUITES["kernels"].run(ctx)
    assert {r.case for r in records} == {"index check E=1e+05 F=64 fwd"}
    times = {r.impl: r.value for r in records if r.metric == "time"}
    assert set(times) == {"index check", "spmm sum (checks included)"}
    (share,) = [r for r in records if r.metric == "share of the spmm"]
    assert share.value == pytest.approx(100 * times["index check"] / times["spmm sum (checks included)"])


def test_git_tracks_a_runs_records_and_finished_units_but_not_quick_runs_or_partial_files():
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=root).returncode == 0

    assert not ignored("results/sheaf-squirrel/.checkpoints/sheaf/node_Squirrel_O_d_-NSD/split_0.json")
    assert not ignored("results/sheaf-squirrel/sheaf.json")
    assert ignored("results/quick/sheaf.json") and ignored("results/quick/sheaf.md")
    assert ignored("results/sheaf-squirrel/.checkpoints/sheaf/node_Squirrel_O_d_-NSD/split_0.partial")


def test_only_matches_any_of_its_alternatives():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="node Cora Diag|node Texas MLP")
    assert ctx.wanted("node Cora Diag-NSD") and ctx.wanted("node Texas MLP")
    assert not ctx.wanted("node Cora MLP") and not ctx.wanted("node Texas Diag-NSD")
    assert Context(quick=True, device=torch.device("cpu")).wanted("anything")
    anchored = Context(quick=True, device=torch.device("cpu"), progress=False, only="node Cora GCN$| MLP")
    assert anchored.wanted("node Cora GCN") and not anchored.wanted("node Cora GCNII")
    assert anchored.wanted("node Texas MLP") and not anchored.wanted("node CiteSeer GCN")


def _never() -> dict:
    raise AssertionError("a stored unit was run again")


def test_checkpoints_keep_finished_units_for_a_resumed_run(tmp_path):
    first = Checkpoints(tmp_path)
    assert first.run("case A", "split 0", {"lr": 0.1}, lambda: {"test": 0.5}) == {"test": 0.5}
    again = Checkpoints(tmp_path, resume=True)
    assert again.run("case A", "split 0", {"lr": 0.1}, _never) == {"test": 0.5}
    assert again.run("case A", "split 1", {"lr": 0.1}, lambda: {"test": 0.7}) == {"test": 0.7}
    assert list(again.resumed) == ["case A"] and list(again.resumed["case A"]) == ["split 0"]
    assert sorted(p.name for p in (tmp_path / "case_A").iterdir()) == ["split_0.json", "split_1.json"]
    with pytest.raises(ValueError, match=r"--resume: .*split_0.json was run with settings \{'lr': 0.1\}, this run "
                                         r"asks for \{'lr': 0.2\}"):
        Checkpoints(tmp_path, resume=True).run("case A", "split 0", {"lr": 0.2}, _never)
    assert json.loads((tmp_path / "case_A" / "split_0.json").read_text())["result"] == {"test": 0.5}


def test_checkpoints_compare_settings_as_they_are_stored(tmp_path):
    settings = {"options": (("layers", 64), ("alpha", 0.1))}                # tuples come back from JSON as lists
    Checkpoints(tmp_path).run("case", "seed 0", settings, lambda: {"test": 0.8})
    assert Checkpoints(tmp_path, resume=True).run("case", "seed 0", settings, _never) == {"test": 0.8}


@pytest.mark.parametrize("damage, message", [
    (lambda text: text.replace('"test": 0.5', '"test": 7.5'), r"holds test = 7.5, expected a number in \[0, 1\]"),
    (lambda text: text.replace('"test": 0.5', '"test": NaN'), r"holds test = nan, expected a number in \[0, 1\]"),
    (lambda text: text.replace('"test": 0.5', '"test": "0.5"'), r"holds test = '0.5', expected a number"),
    (lambda text: text.replace('"test": 0.5', '"val": 0.5'), r"holds test = None, expected a number"),
    (lambda text: text[: len(text) // 2], r"is not a finished unit's JSON"),
    (lambda text: "", r"is not a finished unit's JSON"),
    (lambda text: "[1, 2]", r"lacks a unit's fields"),
])
def test_a_damaged_or_implausible_unit_is_refused_on_resume(tmp_path, damage, message):
    Checkpoints(tmp_path).run("case A", "split 0", {}, lambda: {"test": 0.5})
    path = tmp_path / "case_A" / "split_0.json"
    path.write_text(damage(path.read_text()))
    with pytest.raises(ValueError, match=r"--resume: '.*split_0.json' " + message + ".*delete the file"):
        Checkpoints(tmp_path, resume=True).run("case A", "split 0", {}, _never, bounds={"test": (0, 1)})


def test_checkpoints_without_resume_start_a_case_afresh(tmp_path, capsys):
    Checkpoints(tmp_path).run("case", "split 1", {}, lambda: {"test": 0.1})
    fresh = Checkpoints(tmp_path)
    assert fresh.run("case", "split 0", {}, lambda: {"test": 0.2}) == {"test": 0.2}
    assert "case: starting afresh, deleting 1 finished unit(s) of an earlier run" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "case").iterdir()] == ["split_0.json"]    # no unit of the earlier run left
    assert Checkpoints(tmp_path, resume=True).run("case", "split 0", {}, _never) == {"test": 0.2}
    fresh.clear()
    assert not tmp_path.exists()


def test_clearing_a_run_keeps_the_units_of_cases_another_run_is_computing(tmp_path):
    first, second = Checkpoints(tmp_path / "graph"), Checkpoints(tmp_path / "graph")
    first.run("node Cora GCNII", "seed 0", {}, lambda: {"test": 0.8})
    second.run("node CiteSeer GCNII", "seed 0", {}, lambda: {"test": 0.7})
    first.clear()
    assert [p.name for p in (tmp_path / "graph").iterdir()] == ["node_CiteSeer_GCNII"]
    assert Checkpoints(tmp_path / "graph", resume=True).run("node CiteSeer GCNII", "seed 0", {}, _never) == \
        {"test": 0.7}


def test_checkpoints_without_a_folder_keep_nothing():
    calls = []
    keeper = Checkpoints()
    for _ in range(2):
        keeper.run("case", "split 0", {}, lambda: calls.append(1) or {"test": 1.0})
    assert len(calls) == 2 and keeper.resumed == {}
    with pytest.raises(ValueError, match="resume: needs a folder to read the finished units from, got folder=None"):
        Checkpoints(resume=True)
