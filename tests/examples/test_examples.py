"""Every example runs, on its tiny setting, the way its docstring says to start it."""

import subprocess
import sys
from pathlib import Path

from ..isolated import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_data_parallel_graphsage_trains_under_torchrun_with_two_processes():
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                           "127.0.0.1", "--master-port", str(port), str(ROOT / "examples" / "train_sage_ddp.py"),
                           "--tiny"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "epoch 0: loss" in done.stdout and "(2 processes)" in done.stdout
