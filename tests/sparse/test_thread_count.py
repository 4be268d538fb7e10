"""The CPU kernels run with torch's thread count and leave it as the user set it: starting numba's thread pool (with
its OpenMP layer, one runtime shared with torch) must not raise torch's count to every core."""

import pytest

from ..isolated import run_isolated

# A fresh process per case: numba's pool starts once per process, at the first kernel.
_CHILD = '''
import json, os, tempfile
os.environ["NUMBA_NUM_THREADS"] = "2"          # the pool's size, above the count the process asks for
{limit}
import numba, torch
from torch_geometric.data import Data
from geomlearn.datasets import load_graph, save_graph
from geomlearn.sparse import SparseIndex, spmm

edge_index = torch.randint(0, 50, (2, 400))
before = torch.get_num_threads()
{first}
print(json.dumps([before, torch.get_num_threads(), numba.get_num_threads()]), flush=True)
'''
_FIRST = {
    "spmm": "spmm(SparseIndex(edge_index, num_nodes=50), torch.randn(50, 4))",
    "load_graph": "with tempfile.TemporaryDirectory() as folder:\n"
                  "    load_graph(save_graph(Data(edge_index=edge_index, num_nodes=50), folder))",
}
_LIMITS = {"OMP_NUM_THREADS=1": 'os.environ["OMP_NUM_THREADS"] = "1"',
           "torch.set_num_threads(1)": "import torch; torch.set_num_threads(1)"}


@pytest.mark.parametrize("first", list(_FIRST))
@pytest.mark.parametrize("limit", list(_LIMITS))
def test_the_first_kernel_keeps_torch_thread_count(first, limit):
    """One thread asked for, by the environment or by torch: after the process's first kernel (which starts numba's
    pool of two) torch still has one thread, and the kernels ran with one."""
    [(before, after, numba_threads)] = run_isolated(_CHILD.format(limit=_LIMITS[limit], first=_FIRST[first]))
    assert (before, after, numba_threads) == (1, 1, 1)
