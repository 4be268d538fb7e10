import importlib

import pytest
import torch

from geomlearn.datasets import TARGETS_QM9 as TARGETS, atom_references, qm9, qm9_split


def test_first_molecules_their_units_and_atomisation_energy():
    molecules = qm9(max_molecules=30)
    assert len(molecules) == 30
    methane = molecules[0]
    assert methane.z.tolist() == [6, 1, 1, 1, 1] and methane.pos.shape == (5, 3) and methane.y.shape == (1, 12)
    # C-H bonds of methane are 1.09 Å.
    bonds = (methane.pos[1:] - methane.pos[0]).norm(dim=1)
    torch.testing.assert_close(bonds, torch.full((4,), 1.0919), atol=2e-3, rtol=0)
    u0 = list(TARGETS).index("U0")
    assert TARGETS["U0"][2] == "eV"
    # Atomisation energy of methane at 0 K (B3LYP): -0.6311 Hartree = -17.17 eV.
    atomisation = methane.y[0, u0] - atom_references("U0")[methane.z].sum()
    assert abs(float(atomisation) + 17.17) < 0.01
    gap = list(TARGETS).index("gap")
    torch.testing.assert_close(methane.y[0, gap], methane.y[0, list(TARGETS).index("lumo")] -
                               methane.y[0, list(TARGETS).index("homo")], atol=1e-3, rtol=0)
    assert all(set(m.z.tolist()) <= {1, 6, 7, 8, 9} for m in molecules)


def test_standard_split_is_a_seeded_partition():
    split = qm9_split(130_831, seed=1)
    assert (len(split["train"]), len(split["val"]), len(split["test"])) == (110_000, 10_000, 10_831)
    everything = torch.cat(list(split.values()))
    assert torch.equal(everything.sort().values, torch.arange(130_831))
    assert torch.equal(qm9_split(130_831, seed=1)["val"], split["val"])
    assert not torch.equal(qm9_split(130_831, seed=2)["val"], split["val"])


def test_bad_input():
    with pytest.raises(ValueError, match="max_molecules: expected None or an int >= 1"):
        qm9(max_molecules=0)
    with pytest.raises(ValueError, match="train, val: .* leave no test molecules"):
        qm9_split(100, train=90, val=10)
    with pytest.raises(ValueError, match="target: atom references exist for"):
        atom_references("gap")


def write_parts(folder, rows):
    header = ["Index", "Elements", "XYZ_Ang"] + [column for column, _, _ in TARGETS.values()]
    for k, part in enumerate(("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")):
        lines = [",".join(header)]
        for index, elements, xyz in rows[k::3]:
            lines.append(",".join([str(index), f'"{elements}"', f'"{xyz}"'] + ["1."] * (len(header) - 3)))
        (folder / part).write_text("\n".join(lines) + "\n")


@pytest.fixture
def tiny_qm9(tmp_path, monkeypatch):
    module = importlib.import_module("geomlearn.datasets.qm9")          # the package's qm9 is the function
    data = tmp_path / "data"
    data.mkdir()
    rows = [(k + 1, "['C','H']", f"[[0.,0.,{k}.],[1.,0.,0.]]") for k in range(7)]
    write_parts(data, rows)
    monkeypatch.setattr(module, "_data_folder", lambda: data)
    monkeypatch.setattr(module.Path, "home", lambda: tmp_path)
    return data, rows, tmp_path / ".cache" / "geomlearn" / "processed"


def test_full_read_is_cached_and_malformed_rows_are_named(tiny_qm9):
    from geomlearn.datasets import DataFormatError

    data, rows, processed = tiny_qm9
    first = qm9()
    assert [m.idx for m in first] == [1, 4, 7, 2, 5, 3, 6]                 # part 1, then 2, then 3
    assert list(processed.glob("qm9-*.pt"))
    again = qm9()                                                           # from the cache
    assert all(torch.equal(a.pos, b.pos) and torch.equal(a.y, b.y) for a, b in zip(first, again))
    torch.testing.assert_close(first[1].pos[0], torch.tensor([0.0, 0.0, 3.0]))
    write_parts(data, rows[:3] + [(9, "['C','H']", "[[0.,0.,1.]]")])         # two elements, one position
    with pytest.raises(DataFormatError, match="qm9_part1.csv' line 3: 2 elements but 3 coordinates"):
        qm9()


def test_the_cache_follows_the_files_contents_not_their_sizes(tiny_qm9):
    data, rows, processed = tiny_qm9
    before = qm9()
    edited = [(index, elements, xyz.replace("[1.,0.,0.]", "[2.,0.,0.]")) for index, elements, xyz in rows]
    write_parts(data, edited)                                              # the same sizes, other positions
    after = qm9()
    torch.testing.assert_close(after[0].pos[1], torch.tensor([2.0, 0.0, 0.0]))
    assert not torch.equal(before[0].pos, after[0].pos)
    assert len(list(processed.glob("qm9-*.pt"))) == 2


def test_a_damaged_cache_is_parsed_again_and_a_failed_write_leaves_no_file(tiny_qm9, monkeypatch):
    data, rows, processed = tiny_qm9
    expected = qm9()
    (cache,) = processed.glob("qm9-*.pt")
    cache.write_bytes(cache.read_bytes()[:40])                             # e.g. a disk that filled up before
    with pytest.warns(UserWarning, match=r"ignoring the damaged cache '.*qm9-.*\.pt'"):
        again = qm9()
    assert all(torch.equal(a.pos, b.pos) for a, b in zip(expected, again))
    cache.unlink()

    def fails_halfway(tensors, path):
        open(path, "wb").write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", fails_halfway)
    with pytest.warns(UserWarning, match="could not keep the parsed data"):
        qm9()
    assert list(processed.iterdir()) == []                                 # no partial file, not even a temporary


def test_a_nan_target_is_refused_naming_the_line(tiny_qm9):
    from geomlearn.datasets import DataFormatError

    data, rows, _ = tiny_qm9
    path = data / "qm9_part2.csv"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:-2] + "nan"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"qm9_part2.csv' line 3: a non-finite value in \['Heatcapacity"):
        qm9()
