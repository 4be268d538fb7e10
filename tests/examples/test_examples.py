"""Every example runs, on its tiny setting, the way its docstring says to start it."""

import subprocess
import sys
from pathlib import Path

import pytest

from ..isolated import free_port
from ..real_data import needs_data

ROOT = Path(__file__).resolve().parents[2]


def test_data_parallel_graphsage_trains_under_torchrun_with_two_processes():
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                           "127.0.0.1", "--master-port", str(port), str(ROOT / "examples" / "train_sage_ddp.py"),
                           "--tiny"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "epoch 0: loss" in done.stdout and "(2 processes)" in done.stdout


@pytest.mark.parametrize("script, data", [("cora_gcn.py", "planetoid/Cora/raw"),
                                          ("sheaf_diffusion.py", "heterophilous"),
                                          ("qm9_forces.py", None), ("tensor_completion.py", None),
                                          ("structure_search.py", None)])
def test_an_example_runs_on_its_tiny_setting(script, data):
    if data is not None:
        needs_data(data)
    done = subprocess.run([sys.executable, str(ROOT / "examples" / script), "--tiny"], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert {"cora_gcn.py": "test accuracy at the best validation epoch", "sheaf_diffusion.py": "texas split 0",
            "qm9_forces.py": "rotated forces", "tensor_completion.py": "never observed",
            "structure_search.py": "RSE"}[script] in last
    if script in ("qm9_forces.py", "tensor_completion.py"):          # equivariant forces; a completed tensor
        assert float(last.split(": ")[-1].split()[0]) < 1e-4
