"""Adjacency-matrix structures, their Adam fit, and the greedy / TnALE searches on planted networks."""

import math

import pytest
import torch

from geomlearn.tensor_networks import NetworkStructure, NetworkTensor, TRTensor, fit_network, greedy_search, tnale
from geomlearn.tensor_networks.network_fit import _truncate_bond

from .planted import planted_tt


def planted(structure: NetworkStructure, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    cores = [torch.randn(structure.core_shape(k), generator=g, dtype=torch.float64) for k in range(structure.order)]
    return structure.network(cores).contract()


def test_tensor_train_structure_contracts_like_a_tt_tensor():
    tt = planted_tt((3, 4, 5, 2), (2, 3, 2))
    structure = NetworkStructure.tensor_train((3, 4, 5, 2), (2, 3, 2))
    # structure core k is [I_k, bonds to lower then higher neighbours]; TT core k is [R_k, I_k, R_(k+1)]
    cores = [tt.cores[0][0], tt.cores[1].permute(1, 0, 2), tt.cores[2].permute(1, 0, 2), tt.cores[3][:, :, 0].T]
    torch.testing.assert_close(structure.network(cores).contract(), tt.to_tensor())
    assert structure.num_parameters == sum(c.numel() for c in tt.cores)
    assert structure.compression_ratio == pytest.approx(structure.num_parameters / (3 * 4 * 5 * 2))


def test_tensor_ring_structure_contracts_like_a_tr_tensor():
    g = torch.Generator().manual_seed(1)
    ranks = (2, 3, 4)
    tr = TRTensor([torch.randn(ranks[n], 3, ranks[(n + 1) % 3], generator=g, dtype=torch.float64)
                   for n in range(3)])
    structure = NetworkStructure.tensor_ring((3, 3, 3), ranks)
    # bonds: 0-1 rank 2, 1-2 rank 3, 0-2 rank 4; core k's bonds in increasing neighbour index
    cores = [tr.cores[0].permute(1, 2, 0),          # [I, b01, b02]: TR core 0 is [b02, I, b01]
             tr.cores[1].permute(1, 0, 2),          # [I, b01, b12]
             tr.cores[2].permute(1, 2, 0)]          # [I, b02, b12]: TR core 2 is [b12, I, b02]
    torch.testing.assert_close(structure.network(cores).contract(), tr.to_tensor())


def test_structure_equality_hash_and_edits():
    a = NetworkStructure.tensor_ring((4, 4, 4, 4), (2, 3, 2, 3))
    b = NetworkStructure.uniform((4, 4, 4, 4)).with_ranks({(0, 1): 2, (1, 2): 3, (2, 3): 2, (0, 3): 3})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.bonds(0) == [1, 3] and a.core_shape(0) == (4, 2, 3)
    assert a.with_ranks({(1, 3): 5}).rank(3, 1) == 5 and a.rank(1, 3) == 1


@pytest.mark.parametrize("adjacency, message", [
    ([[3]], "N >= 2"),
    ([[3, 2], [1, 3]], "symmetric"),
    ([[3, 0], [0, 3]], "ints >= 1"),
    ([[3, 2.5], [2.5, 3]], "ints >= 1"),
    ([[3, 2, 1], [2, 3]], "square"),
])
def test_bad_adjacency_is_named(adjacency, message):
    with pytest.raises(ValueError, match=message):
        NetworkStructure(adjacency)


def test_fit_network_recovers_a_planted_ring():
    structure = NetworkStructure.tensor_ring((3, 4, 3, 4), (2, 3, 2, 2))
    x = planted(structure)
    fit = fit_network(x, structure, random_state=0, lr=1e-2, max_steps=4000)
    assert fit.rse < 1e-8
    assert fit.relative_error(x) ** 2 < 1e-8      # the RSE it reports is the RSE of its cores
    assert isinstance(fit, NetworkTensor) and len(fit) == 4 and fit.num_parameters == structure.num_parameters


def test_fit_network_with_mask_fits_the_observed_and_completes():
    structure = NetworkStructure.tensor_train((5, 5, 5), (2, 2))
    x = planted(structure, seed=3)
    mask = torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.5
    fit = fit_network(x, structure, mask=mask, random_state=0, lr=1e-2, max_steps=4000)
    assert fit.rse < 1e-8
    assert fit.relative_error(x) < 1e-3            # the unobserved half comes out right too


def test_warm_start_keeps_the_fit_when_a_bond_grows_or_shrinks():
    structure = NetworkStructure.tensor_train((4, 4, 4, 4), (2, 3, 2))
    g = torch.Generator().manual_seed(2)
    fit = NetworkTensor(structure, [torch.randn(structure.core_shape(k), generator=g, dtype=torch.float64)
                                    for k in range(4)])
    x = fit.to_tensor()
    grown = fit_network(x, structure.with_ranks({(0, 3): 2, (1, 2): 4}), init=fit, max_steps=1, restarts=1)
    assert grown.rse < 1e-6                        # the first check is before any step: the transferred start
    # an extra bond 0-2 of rank 2 whose second slice is zero: cut back to rank 1 by SVD truncation, nothing is lost
    core0 = torch.cat([fit.cores[0].unsqueeze(2), torch.zeros(4, 2, 1, dtype=x.dtype)], dim=2)
    core2 = torch.cat([fit.cores[2].unsqueeze(1), torch.zeros(4, 1, 3, 2, dtype=x.dtype)], dim=1)
    padded = NetworkTensor(structure.with_ranks({(0, 2): 2}), [core0, fit.cores[1], core2, fit.cores[3]])
    cut = fit_network(x, structure, init=padded, max_steps=1, restarts=1)
    assert cut.rse < 1e-6


def test_truncate_bond_is_the_best_low_rank_cut_of_the_pair():
    structure = NetworkStructure.tensor_train((5, 6, 5), (4, 4))
    g = torch.Generator().manual_seed(0)
    cores = [torch.randn(structure.core_shape(k), generator=g, dtype=torch.float64) for k in range(3)]
    pair = torch.einsum("ia,jab->ijb", cores[0], cores[1]).reshape(5, -1)
    _truncate_bond(cores, structure, 0, 1, 2)
    assert cores[0].shape == (5, 2) and cores[1].shape == (6, 2, 4)
    s = torch.linalg.svdvals(pair)
    cut = torch.einsum("ia,jab->ijb", cores[0], cores[1]).reshape(5, -1)
    assert float(torch.linalg.matrix_norm(pair - cut)) == pytest.approx(float(s[2:].norm()), rel=1e-9)


def test_hand_over_recentres_a_star_exactly_and_cuts_to_the_best_rank_otherwise():
    # a star on core 1 (a Tucker tensor folded into factor 1) re-centred on core 3 and back; core 1's mode has size 3,
    # so a bond of rank 3 carries it exactly, and core 3 needs only its own Tucker rank, 2, on the way back
    star = NetworkStructure.uniform((4, 3, 5, 3)).with_ranks({(1, 0): 2, (1, 2): 2, (1, 3): 2})
    g = torch.Generator().manual_seed(3)
    fit = NetworkTensor(star, [torch.randn(star.core_shape(k), generator=g, dtype=torch.float64) for k in range(4)])
    x = fit.to_tensor()
    moved = fit.handed_over(1, 3, 3)
    assert moved.structure == NetworkStructure.uniform(star.shape).with_ranks({(3, 0): 2, (3, 2): 2, (3, 1): 3})
    assert torch.allclose(moved.to_tensor(), x, atol=1e-12)
    back = moved.handed_over(3, 1, 2)
    assert back.structure == star
    assert torch.allclose(back.to_tensor(), x, atol=1e-12)
    # one rank short of core 1's unfolding: the best rank-2 split of the merged pair, by the SVD's tail
    merged = torch.einsum("iabc,jc->ijab", fit.cores[1], fit.cores[3]).reshape(3, -1)
    short = fit.handed_over(1, 3, 2)
    split = torch.einsum("ic,jacb->ijab", short.cores[1], short.cores[3]).reshape(3, -1)
    s = torch.linalg.svdvals(merged)
    assert float(torch.linalg.matrix_norm(merged - split)) == pytest.approx(float(s[2:].norm()), rel=1e-9)


def test_hand_over_rejects_a_missing_bond_and_a_shared_neighbour():
    ring = NetworkStructure.tensor_ring((3, 3, 3, 3), (2, 2, 2, 2))
    with pytest.raises(ValueError, match="neighbour: expected a core bonded to core 0"):
        ring.handed_over(0, 2, 2)
    with pytest.raises(ValueError, match=r"cores \[3\] are bonded to both 0 and 1"):
        ring.with_ranks({(1, 3): 2}).handed_over(0, 1, 2)


def test_greedy_shrinking_hands_over_a_star_centred_on_the_wrong_core():
    # from the planted star's mirror image, centred on core 3 (57 parameters, exact, and no decrement or rank move
    # keeps it exact with fewer), the hand-over of core 3 to core 1 over a bond of rank 2 is the planted star (42)
    star = NetworkStructure.uniform((3, 3, 3, 3)).with_ranks({(1, 0): 2, (1, 2): 2, (1, 3): 2})
    wrong = NetworkStructure.uniform(star.shape).with_ranks({(3, 0): 2, (3, 2): 2, (3, 1): 3})
    x = planted(star, seed=1)
    result = greedy_search(x, init=wrong, candidate_steps=100, random_state=0, progress=False,
                           fit_options={"lr": 1e-2, "max_steps": 600, "patience": 100})
    assert result.history[0].structure == wrong and result.history[0].rse < 1e-4
    assert result.structure == star and result.rse < 1e-4


def test_fit_network_rejects_bad_input():
    structure = NetworkStructure.tensor_train((4, 4, 4), (2, 2))
    with pytest.raises(ValueError, match="structure's shape"):
        fit_network(torch.randn(4, 4, 5), structure)
    with pytest.raises(ValueError, match="restarts"):
        fit_network(torch.randn(4, 4, 4), structure, restarts=0)
    with pytest.raises(ValueError, match="all zero"):
        fit_network(torch.zeros(4, 4, 4), structure)
    with pytest.raises(ValueError, match="finite"):
        fit_network(torch.full((4, 4, 4), math.nan), structure)


@pytest.mark.parametrize("search", [greedy_search, tnale])
def test_searches_find_a_planted_train(search):
    planted_structure = NetworkStructure.tensor_train((4, 4, 4), (2, 3))
    x = planted(planted_structure, seed=4)
    options = {"fit_options": {"lr": 1e-2, "max_steps": 2000, "patience": 200}, "random_state": 0,
               "progress": False}
    extra = {"candidate_steps": 100} if search is greedy_search else {"max_rank": 4}
    result = search(x, **options, **extra)
    assert result.rse < 1e-4
    assert result.compression_ratio <= 1.5 * planted_structure.compression_ratio
    assert result.evaluations == len(result.history) > 1
    assert result.objective == pytest.approx(result.compression_ratio + 200 * result.rse)
    assert result.objective == min(e.objective for e in result.history)


def test_tnale_on_a_ring_finds_the_order_of_a_permuted_train():
    # the train 0 - 2 - 1 - 3 is not a ring in the modes' own order: the search has to swap modes 1 and 2
    chain = NetworkStructure.uniform((3, 4, 3, 4)).with_ranks({(0, 2): 2, (2, 1): 3, (1, 3): 2})
    x = planted(chain, seed=4)
    result = tnale(x, topology="ring", max_rank=4, random_state=0, progress=False,
                   fit_options={"lr": 1e-2, "max_steps": 2000, "patience": 200})
    assert result.structure == chain and result.rse < 1e-4
    assert all(len(e.structure.bonds(k)) <= 2 for e in result.history for k in range(4))   # rings only


def test_greedy_shrinking_moves_a_rank_to_open_a_loop_the_planted_chain_lacks():
    # From a star centred on core 1 (exact for this train, 57 parameters against its 36) no bond can lose a rank
    # and keep the fit exact; moving one from 1-2 to 2-3 closes the loop 1-2-3 (54), then 1-3 drops (36).
    chain = NetworkStructure.tensor_train((3, 3, 3, 3), (2, 2, 2))
    star = NetworkStructure.uniform(chain.shape).with_ranks({(0, 1): 2, (1, 2): 3, (1, 3): 2})
    loop = chain.with_ranks({(1, 3): 2})
    x = planted(chain, seed=1)
    result = greedy_search(x, init=star, candidate_steps=100, random_state=0, progress=False,
                           fit_options={"lr": 1e-2, "max_steps": 1500, "patience": 200})
    assert result.history[0].structure == star and result.history[0].rse < 1e-4
    assert any(e.structure == loop and e.rse < 1e-4 for e in result.history)
    assert result.structure == chain and result.rse < 1e-4


def test_search_arguments_are_checked():
    x = torch.randn(3, 3, 3)
    with pytest.raises(ValueError, match="radius"):
        tnale(x, radius=0)
    with pytest.raises(ValueError, match="init"):
        tnale(x, init=NetworkStructure.uniform((3, 3)))
    with pytest.raises(ValueError, match="topology: expected 'all' or 'ring', got 'star'"):
        tnale(x, topology="star")
    with pytest.raises(ValueError, match="init: topology='ring' starts from an int"):
        tnale(x, topology="ring", init=NetworkStructure.uniform((3, 3, 3)))
    with pytest.raises(ValueError, match="order >= 3"):
        tnale(torch.randn(3, 3), topology="ring")
    with pytest.raises(ValueError, match="weight"):
        greedy_search(x, weight=-1.0)
    with pytest.raises(ValueError, match="max_rank"):
        greedy_search(x, max_rank=0)
    with pytest.raises(ValueError, match="init"):
        greedy_search(x, init=0)

