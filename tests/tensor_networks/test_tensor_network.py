import pytest
import torch

from geomlearn.tensor_networks import TensorNetwork

from .planted import planted_cp, planted_tt, planted_tucker
from .test_tensor_ring import planted_ring


@pytest.mark.parametrize("decomposition", [planted_cp((3, 4, 5), 2), planted_tucker((3, 4, 5), (2, 3, 2)),
                                           planted_tt((3, 4, 5, 2), (2, 3, 2)), planted_ring((3, 4, 5), (2, 3, 2))],
                         ids=["cp", "tucker", "tt", "tr"])
def test_decompositions_are_views_of_a_network(decomposition):
    network = decomposition.to_network()
    torch.testing.assert_close(network.contract(), decomposition.to_tensor())
    assert network.num_parameters == decomposition.num_parameters


def test_contraction_by_hand_gradients_and_path_info():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 5, generator=g, dtype=torch.float64)
    c = torch.randn(5, 3, generator=g, dtype=torch.float64)
    ring = TensorNetwork({"a": a, "b": b, "c": c}, {"a": ("i", "j"), "b": ("j", "k"), "c": ("k", "i")})
    assert ring.output == ()                                   # every index bonded: the trace of a b c
    value = ring.contract()
    torch.testing.assert_close(value, torch.trace(a @ b @ c))
    value.backward()
    torch.testing.assert_close(a.grad, (b @ c).t())
    opened = TensorNetwork({"a": a, "b": b, "c": c}, {"a": ("i", "j"), "b": ("j", "k"), "c": ("k", "l")})
    torch.testing.assert_close(opened.contract(), (a @ b @ c).detach())
    assert opened.path_info().opt_cost > 0 and len(opened.path_info().contraction_list) == 2


def test_bad_networks():
    a = torch.randn(3, 4)
    with pytest.raises(ValueError, match="index 'j' has size 4 on one core and 5 on core 'b'"):
        TensorNetwork({"a": a, "b": torch.randn(5, 2)}, {"a": ("i", "j"), "b": ("j", "k")})
    with pytest.raises(ValueError, match=r"core 'a' of shape \[3, 4\] needs one index per dimension"):
        TensorNetwork({"a": a}, {"a": ("i",)})
    with pytest.raises(ValueError, match=r"output: indices \['z'\] are on no core"):
        TensorNetwork({"a": a}, {"a": ("i", "j")}, output=("z",))
