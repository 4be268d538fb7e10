"""Test-wide setup: Triton kernels run through the interpreter on machines without CUDA, and ogb's import
does not go to PyPI to ask whether a newer ogb exists (its ``outdated`` check).

``TRITON_INTERPRET`` must be set before the first ``@triton.jit`` is evaluated, i.e. before
``geomlearn.sparse.kernels.gpu`` is imported, which happens lazily on first use.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("OUTDATED_IGNORE", "1")
