"""``torch.compile(fullgraph=True)`` traces models built on the sparse ops, forward and backward."""

import pytest
import torch

from geomlearn.sparse import (additive_scores, block_spmm, gather_sum, sddmm, segment_matmul, segment_reduce,
                              segment_softmax, spmm)
from geomlearn.sparse import reference as ref

from .graphs import random_graph


class AttentionThenBlocks(torch.nn.Module):
    """Touches every op: attention scores (sddmm, gather_sum, additive_scores), their softmax, a weighted multi-head spmm, a max spmm,
    a segment reduction of the scores, a block spmm and a grouped matmul."""

    def __init__(self, index, ptr):
        super().__init__()
        self.index, self.ptr = index, ptr
        self.lin = torch.nn.Linear(8, 8)
        self.blocks = torch.nn.Parameter(torch.randn(index.num_edges, 2, 2))
        self.typed = torch.nn.Parameter(torch.randn(2, 8, 8))
        self.att = torch.nn.Parameter(torch.randn(2, 4))

    def forward(self, x, impl):
        h = self.lin(x).view(-1, 2, 4)
        scores = impl.sddmm(self.index, h, h) + impl.gather_sum(self.index, h[:, :, 0], h[:, :, 1])
        scores = scores + impl.additive_scores(self.index, h, h, self.att, 0.2)
        alpha = impl.segment_softmax(scores, self.index)
        out = impl.spmm(self.index, h, alpha).reshape(-1, 8)
        out = out + impl.spmm(self.index, x, None, "max")
        out = out + impl.segment_reduce(alpha, self.index, "mean").sum(1, keepdim=True)
        out = out + impl.block_spmm(self.index, self.blocks, out.view(-1, 2, 4)).reshape(-1, 8)
        return impl.segment_matmul(out, self.ptr, self.typed)


class _Ops:
    spmm, sddmm, segment_softmax = staticmethod(spmm), staticmethod(sddmm), staticmethod(segment_softmax)
    segment_reduce, block_spmm = staticmethod(segment_reduce), staticmethod(block_spmm)
    segment_matmul, gather_sum = staticmethod(segment_matmul), staticmethod(gather_sum)
    additive_scores = staticmethod(additive_scores)


def test_compile_fullgraph_forward_and_backward_match_eager_reference():
    torch.manual_seed(0)
    index = random_graph(30, 30, 120, seed=0)
    ptr = torch.tensor([0, 12, 30])
    model = AttentionThenBlocks(index, ptr)
    x = torch.randn(30, 8, requires_grad=True)

    expected = model(x, ref)
    expected_grads = torch.autograd.grad(expected.square().sum(), [x, *model.parameters()])

    compiled = torch.compile(model, fullgraph=True)
    out = compiled(x, _Ops)
    grads = torch.autograd.grad(out.square().sum(), [x, *model.parameters()])
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_compile_traces_coupling_spmm():
    from geomlearn.sparse import coupling_spmm

    from .test_coupling_spmm import random_couplings, random_inputs

    index, couplings = random_graph(12, 12, 40, seed=1), random_couplings()
    x, y, w = (t.float().requires_grad_() for t in random_inputs(index))
    table = couplings.to(dtype=torch.float32)
    compiled = torch.compile(lambda a, b, c: coupling_spmm(index, table, a, b, c).square().sum(), fullgraph=True)
    grads = torch.autograd.grad(compiled(x, y, w), (x, y, w))
    expected = torch.autograd.grad(ref.coupling_spmm(index, table, x, y, w).square().sum(), (x, y, w))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_compiled_code_rejects_what_eager_code_rejects_and_names_the_argument():
    x, weight = torch.randn(5, 3), torch.randn(2, 3, 4)
    compiled = torch.compile(segment_matmul, fullgraph=True)
    good = torch.tensor([0, 2, 5])
    torch.testing.assert_close(compiled(x, good, weight), ref.segment_matmul(x, good, weight))
    # The boundaries' values: checked inside the op, on its real inputs, so the compiled graph raises the same error.
    for ptr, message in (([0, 4, 3], r"ptr: expected boundaries from 0 to 5 \(the rows of x\), got 0 to 3"),
                         ([0, 6, 5], r"ptr: expected non-decreasing boundaries, got ptr\[1\] = 6 > ptr\[2\] = 5")):
        with pytest.raises(ValueError, match=message):
            segment_matmul(x, torch.tensor(ptr), weight)
        with pytest.raises(ValueError, match=message):
            compiled(x, torch.tensor(ptr), weight)
    # A shape error is found while tracing: torch.compile raises it as is; with fullgraph=True dynamo wraps every
    # exception of the traced code in its Unsupported, whose message quotes ours.
    index = random_graph(4, 4, 6, seed=2)
    with pytest.raises(ValueError, match=r"x: expected 4 rows \(one per source node\), got shape \[5, 3\]"):
        torch.compile(lambda a: spmm(index, a))(x)
    with pytest.raises(torch._dynamo.exc.Unsupported, match=r"x: expected 4 rows \(one per source node\)"):
        torch.compile(lambda a: spmm(index, a), fullgraph=True)(x)
