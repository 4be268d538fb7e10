"""QM9 (Ramakrishnan et al., 2014): 130,831 small organic molecules with DFT properties, from ``qm9pack``.

The PyPI package ``qm9pack`` ships the data as CSV files (geometries in Å, properties in the units of the
original release); this loader reads them without importing the package (its ``__init__`` needs
``pkg_resources``) and returns torch_geometric ``Data`` objects with the twelve usual targets in the
units below (energies in eV, as torch_geometric's ``QM9`` has them).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch_geometric.data import Data

from ..argument_checks import check_int
from .file_checks import content_digest, read_torch
from .root import DataFormatError, DataNotFoundError, write_atomically

HARTREE_EV = 27.211386245988
# name: (column of the CSV, factor to the stated unit, unit)
TARGETS = {
    "mu": ("Dipole_debye", 1.0, "D"),
    "alpha": ("Polarizability_bohr3", 1.0, "bohr^3"),
    "homo": ("HOMO_au", HARTREE_EV, "eV"),
    "lumo": ("LUMO_au", HARTREE_EV, "eV"),
    "gap": ("HOMO_LUMO_gap_au", HARTREE_EV, "eV"),
    "r2": ("R2_bohr2", 1.0, "bohr^2"),
    "zpve": ("ZPVE_au", HARTREE_EV, "eV"),
    "U0": ("InternalEnergy_0K_au", HARTREE_EV, "eV"),
    "U": ("InternalEnergy_298K_au", HARTREE_EV, "eV"),
    "H": ("Enthalphy_298K_au", HARTREE_EV, "eV"),
    "G": ("GibbsFreeEnergy_298K_au", HARTREE_EV, "eV"),
    "cv": ("Heatcapacity_Cv_cal_mol_K", 1.0, "cal/(mol K)"),
}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")     # the files write 0. and 1.
ELEMENTS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
# Energies of the free atoms (B3LYP/6-31G(2df,p), the data set's atomref table) in Hartree: U0, U, H, G.
_ATOM_ENERGIES = {
    1: (-0.500273, -0.498857, -0.497912, -0.510927),
    6: (-37.846772, -37.845355, -37.844411, -37.861317),
    7: (-54.583861, -54.582445, -54.581501, -54.598897),
    8: (-75.064579, -75.063163, -75.062219, -75.079532),
    9: (-99.718730, -99.717314, -99.716370, -99.733544),
}


def atom_references(target: str, max_z: int = 9) -> torch.Tensor:
    """``[max_z + 1]`` energy (eV) of each free atom for ``target`` in U0 / U / H / G (zeros elsewhere): the
    prior a model adds per atom so it learns the atomisation energy."""
    if target not in ("U0", "U", "H", "G"):
        raise ValueError(f"target: atom references exist for 'U0', 'U', 'H', 'G', got {target!r}")
    out = torch.zeros(max_z + 1, dtype=torch.float64)
    for z, energies in _ATOM_ENERGIES.items():
        out[z] = energies[("U0", "U", "H", "G").index(target)] * HARTREE_EV
    return out


def _data_folder() -> Path:
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("QM9: the package 'qm9pack' is not installed (pip install qm9pack, or "
                                "pip install 'geomlearn[molecular]')")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _parse(folder: Path, max_molecules: Optional[int]) -> dict[str, torch.Tensor]:
    """The CSV files as concatenated tensors: ``z``, ``pos`` (all atoms), ``y [M, 12]``, ``counts [M]``, ``idx [M]``."""
    z, pos, y, counts, idx = [], [], [], [], []
    for part in _PARTS:
        path = folder / part
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"Index", "Elements", "XYZ_Ang"} | {column for column, _, _ in TARGETS.values()}
            missing -= set(reader.fieldnames or [])
            if missing:
                raise DataFormatError(f"'{path}': missing columns {sorted(missing)}")
            for row in reader:
                if max_molecules is not None and len(counts) >= max_molecules:
                    break
                try:
                    elements = [ELEMENTS[e] for e in json.loads(row["Elements"].replace("'", '"'))]
                    coordinates = [float(v) for v in _NUMBER.findall(row["XYZ_Ang"])]
                    targets = {column: float(row[column]) * factor for column, factor, _ in TARGETS.values()}
                    number = int(row["Index"])
                except (KeyError, ValueError, TypeError) as error:
                    raise DataFormatError(f"'{path}' line {reader.line_num}: malformed molecule ({error})") from None
                bad = [column for column, value in targets.items() if not math.isfinite(value)]
                if bad or not all(map(math.isfinite, coordinates)):
                    raise DataFormatError(f"'{path}' line {reader.line_num}: a non-finite value in "
                                          f"{bad or ['XYZ_Ang']}")
                y.append(list(targets.values()))
                idx.append(number)
                if len(coordinates) != 3 * len(elements):
                    raise DataFormatError(f"'{path}' line {reader.line_num}: {len(elements)} elements but "
                                          f"{len(coordinates)} coordinates")
                z += elements
                pos += coordinates
                counts.append(len(elements))
    return {"z": torch.tensor(z), "pos": torch.tensor(pos).view(-1, 3), "y": torch.tensor(y, dtype=torch.float64),
            "counts": torch.tensor(counts), "idx": torch.tensor(idx)}


def _cache_path(folder: Path) -> Path:
    """Where the parsed tensors are kept, keyed by the SHA-256 of the three CSV files' contents (about half a
    second to compute): an edited file, whatever its size or time stamp, gets a cache of its own."""
    digest = content_digest(folder / part for part in _PARTS)
    return Path.home() / ".cache" / "geomlearn" / "processed" / f"qm9-{digest[:32]}.pt"


def _read_cache(cache: Path) -> Optional[dict[str, torch.Tensor]]:
    """The cached tensors, or None (with a warning naming the file) when the file is unreadable or does not hold
    consistent tensors: it is then parsed again and rewritten, never trusted."""
    try:
        tensors = read_torch(cache)
        keys = ("z", "pos", "y", "counts", "idx")
        if not isinstance(tensors, dict) or any(not isinstance(tensors.get(k), torch.Tensor) for k in keys):
            raise DataFormatError(f"'{cache}': expected tensors {list(keys)}")
        atoms, molecules = int(tensors["counts"].sum()), len(tensors["counts"])
        if tensors["z"].shape != (atoms,) or tensors["pos"].shape != (atoms, 3) or \
                tensors["y"].shape != (molecules, len(TARGETS)) or tensors["idx"].shape != (molecules,):
            raise DataFormatError(f"'{cache}': the tensors' sizes disagree")
        return tensors
    except DataFormatError as error:
        warnings.warn(f"QM9: ignoring the damaged cache '{cache}' ({error}); parsing the CSV files again",
                      stacklevel=3)
        return None


def qm9(max_molecules: Optional[int] = None) -> list[Data]:
    """The molecules in the data set's order, each ``Data(z [n], pos [n, 3] Å, y [1, 12] float64, idx)`` with
    ``y``'s columns the keys of ``geomlearn.datasets.qm9.TARGETS`` (units there; float64 keeps total energies of ~-10^4 eV to
    micro-eV). ``max_molecules`` reads only the first ones. Reading all of them parses the CSV files once
    (about a minute) and keeps the tensors in ``~/.cache/geomlearn/processed`` for the next call, under the hash
    of the files' contents; the cache is written to a temporary name and renamed when complete, read with
    ``weights_only=True``, and parsed again (with a warning) if it is damaged.

    Raises:
        DataNotFoundError: ``qm9pack`` is not installed.
        DataFormatError: a file lacks a column or holds a malformed row or a non-finite value (named with its
            line).
    """
    check_int("max_molecules", max_molecules, optional=True)
    folder = _data_folder()
    for part in _PARTS:
        if not (folder / part).exists():
            raise DataNotFoundError(f"QM9: '{folder / part}' is missing from the qm9pack installation")
    if max_molecules is not None:
        tensors = _parse(folder, max_molecules)
    else:
        cache = _cache_path(folder)
        tensors = _read_cache(cache) if cache.exists() else None
        if tensors is None:
            tensors = _parse(folder, None)
            try:
                write_atomically(cache, lambda temporary: torch.save(tensors, temporary))
            except OSError as error:
                warnings.warn(f"QM9: could not keep the parsed data in '{cache}' ({error}); the next call parses "
                              f"the CSV files again", stacklevel=2)
    counts = tensors["counts"].tolist()
    return [Data(z=z, pos=pos, y=y.unsqueeze(0), idx=int(i)) for z, pos, y, i in
            zip(tensors["z"].split(counts), tensors["pos"].split(counts), tensors["y"], tensors["idx"])]


def qm9_split(num_molecules: int, seed: int = 0, train: int = 110_000, val: int = 10_000) -> dict[str, torch.Tensor]:
    """The standard random split: ``train`` / ``val`` molecules and the rest as test, indices by a seeded
    permutation."""
    if train + val >= num_molecules:
        raise ValueError(f"train, val: {train} + {val} leave no test molecules out of {num_molecules}")
    order = torch.randperm(num_molecules, generator=torch.Generator().manual_seed(seed))
    return {"train": order[:train], "val": order[train:train + val], "test": order[train + val:]}
