import itertools
import math

import pytest
import torch

from geomlearn.tensor_networks import MPSClassifier


def explicit_scores(model: MPSClassifier, x: torch.Tensor) -> torch.Tensor:
    """f_l(x) by its definition: the sum over every configuration s of W^l_s times the product of phi's, with the
    boundary bonds summed against ones / sqrt(D) as the model does."""
    n, d = model.num_features, model.bond_dim
    cores = list(model.left) + [model.label] + list(model.right)
    phi = model.feature_map(x)
    out = torch.zeros(x.shape[0], model.num_classes, dtype=x.dtype)
    boundary = torch.ones(d, dtype=x.dtype) / math.sqrt(d)
    for config in itertools.product((0, 1), repeat=n):
        chain = boundary.view(1, d)
        for site, s in enumerate(config):
            core = cores[site]
            chain = torch.einsum("ld,dle->le", chain.expand(model.num_classes, d), core[:, s]) if site == \
                model.label_site else chain @ core[:, s]
        weight = chain @ boundary                                                   # [num_classes]
        out += torch.prod(phi[:, torch.arange(n), torch.tensor(config)], dim=1, keepdim=True) * weight
    return out


def test_scores_are_the_mps_contraction_up_to_a_positive_factor_per_sample():
    torch.manual_seed(0)
    model = MPSClassifier(num_features=5, num_classes=3, bond_dim=2, init_std=0.3).double()
    x = torch.rand(4, 5, dtype=torch.float64)
    expected = explicit_scores(model, x)
    scores = model(x)
    ratio = torch.linalg.vector_norm(scores, dim=1, keepdim=True) / torch.linalg.vector_norm(expected, dim=1,
                                                                                             keepdim=True)
    torch.testing.assert_close(scores, expected * ratio)
    torch.testing.assert_close(torch.linalg.vector_norm(scores, dim=1), model.log_temperature.exp().expand(4))


def test_gradients_reach_every_core_and_bad_input():
    model = MPSClassifier(num_features=6, num_classes=2, bond_dim=3)
    torch.nn.functional.cross_entropy(model(torch.rand(8, 6)), torch.randint(0, 2, (8,))).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match=r"x: expected \[B, 6\] features in \[0, 1\], got \[8, 5\]"):
        model(torch.rand(8, 5))
    with pytest.raises(ValueError, match="bond_dim: expected an int >= 1, got 0"):
        MPSClassifier(6, 2, 0)
