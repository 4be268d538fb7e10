"""tall_linear against the module's own call: values, every gradient, double backward, and the modules it must
call as they are (hooks, lazy layers, subclasses)."""

import pytest
import torch
from torch_geometric.nn import Linear as PygLinear

from geomlearn.tall_linear import tall_linear


def _gradients(module, x, fn):
    module.zero_grad()
    x = x.clone().requires_grad_()
    out = fn(module, x)
    out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(5), dtype=out.dtype))
    return out, [x.grad] + [p.grad for p in module.parameters()]


@pytest.mark.parametrize("shape", [(3, 40), (40, 3), (16, 16)])            # widening, narrowing, square
@pytest.mark.parametrize("kind", ["torch", "pyg", "no bias"])
@pytest.mark.parametrize("leading", [(200,), (7, 30)])
def test_values_and_gradients_equal_the_modules_call(shape, kind, leading):
    torch.manual_seed(0)
    fan_in, fan_out = shape
    module = {"torch": lambda: torch.nn.Linear(fan_in, fan_out), "pyg": lambda: PygLinear(fan_in, fan_out),
              "no bias": lambda: torch.nn.Linear(fan_in, fan_out, bias=False)}[kind]().double()
    x = torch.randn(*leading, fan_in, dtype=torch.float64)
    expected, expected_grads = _gradients(module, x, lambda m, v: m(v))
    got, grads = _gradients(module, x, tall_linear)
    torch.testing.assert_close(got, expected)
    for mine, reference in zip(grads, expected_grads):
        torch.testing.assert_close(mine, reference)


def test_gradcheck_and_double_backward():
    module = torch.nn.Linear(3, 9).double()
    x = torch.randn(11, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: tall_linear(module, x), (x,))
    assert torch.autograd.gradgradcheck(lambda x: tall_linear(module, x).square(), (x,))
    # a penalty on the weight's gradient: its own gradient reaches the bias as through the module's call
    penalties = []
    for fn in (tall_linear, lambda m, v: m(v)):
        (grad_weight,) = torch.autograd.grad(fn(module, x).square().sum(), module.weight, create_graph=True)
        penalties.append(torch.autograd.grad(grad_weight.square().sum(), module.bias)[0])
    torch.testing.assert_close(*penalties)


class _Doubled(torch.nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


def test_other_modules_are_called_as_they_are():
    x = torch.randn(5, 3)
    calls = []
    hooked = torch.nn.Linear(3, 4)
    hooked.register_forward_hook(lambda module, args, out: calls.append(out.shape))
    torch.testing.assert_close(tall_linear(hooked, x), hooked(x))
    assert calls == [(5, 4), (5, 4)]
    doubled = _Doubled(3, 4)
    torch.testing.assert_close(tall_linear(doubled, x), doubled(x))
    lazy = PygLinear(-1, 4)
    assert tall_linear(lazy, x).shape == (5, 4) and lazy.weight.shape == (4, 3)
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU())
    torch.testing.assert_close(tall_linear(mlp, x), mlp(x))
