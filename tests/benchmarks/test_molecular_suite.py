"""Quick run of the ``molecular`` suite: every product and the e3nn peer time, ratios and slopes are recorded."""

import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.registry import SUITES, Context


def test_quick_run_records_every_product_ratios_and_slopes():
    records = SUITES["molecular"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only="tp "))
    timed = {(r.case, r.impl) for r in records if r.metric == "time"}
    for lmax in (1, 2):
        for mode in ("forward", "forward+backward"):
            for impl in ("geomlearn grid", "geomlearn gaunt", "geomlearn cg", "e3nn"):
                assert (f"tp L={lmax} {mode}", impl) in timed
    ratios = [r for r in records if r.metric == "speedup over e3nn"]
    assert len(ratios) == 2 * 2 * 3 and all(r.value > 0 for r in ratios)
    # Two degrees are too few to fit a slope: none is reported rather than a meaningless one.
    assert not [r for r in records if r.metric == "fitted slope"]


def test_quick_so2_and_qm9_cases():
    records = SUITES["molecular"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only="o"))
    so2 = [r for r in records if r.metric == "speedup over CG"]
    assert {r.case for r in so2} == {"so2 L=2 forward", "so2 L=2 forward+backward"}
    fused = [r for r in records if r.metric == "speedup over unfused"]
    assert {r.case for r in fused} == {"conv fused L=1 forward", "conv fused L=1 forward+backward"}
    assert all(r.value > 0 for r in fused)
    qm9 = [r for r in records if r.metric == "test MAE"]
    assert {r.impl for r in qm9} == {"TensorNet", "InteractionNetwork (cg)", "SchNet (torch_geometric)"}
    assert {r.params["target"] for r in qm9} == {"U0", "gap"}
    # A few steps on 64 molecules: finite errors of a sensible size (the targets' spread is ~1 eV).
    assert all(0 < r.value < 1e4 and r.params["steps"] >= 1 for r in qm9)


def test_budget_sets_the_training_time_per_model():
    records = SUITES["molecular"].run(Context(quick=True, device=torch.device("cpu"), progress=False,
                                              only="qm9 U0 TensorNet", budget_s=1.5))
    assert [r.params["budget_s"] for r in records if r.metric == "test MAE"] == [1.5]
