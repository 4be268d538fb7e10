"""Every example runs, on its tiny setting, the way its docstring says to start it."""

import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_data_parallel_graphsage_trains_under_torchrun_with_two_processes():
    with socket.socket() as probe:                      # a free port on this machine for the rendezvous
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr",
                           "127.0.0.1", "--master-port", str(port), str(ROOT / "examples" / "train_sage_ddp.py"),
                           "--tiny"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "epoch 0: loss" in done.stdout and "(2 processes)" in done.stdout
