import json

import pytest
import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
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


def test_only_matches_any_of_its_alternatives():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="node Cora Diag|node Texas MLP")
    assert ctx.wanted("node Cora Diag-NSD") and ctx.wanted("node Texas MLP")
    assert not ctx.wanted("node Cora MLP") and not ctx.wanted("node Texas Diag-NSD")
    assert Context(quick=True, device=torch.device("cpu")).wanted("anything")
