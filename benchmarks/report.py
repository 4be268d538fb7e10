"""Writing a suite's results: JSON records, a markdown table headed by the machine, and plots."""

from __future__ import annotations

import dataclasses
import datetime
import json
import platform
import shlex
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch

from geomlearn.datasets.root import write_atomically

from .provenance import git_commit
from .registry import Record


_PACKAGES = ("numba", "torch_geometric", "e3nn", "torch_sparse", "torch_scatter", "pyg_lib", "tensorly", "dgl")


def _version(name: str) -> str | None:
    """The installed version of ``name`` (the peers too, where a suite ran them), or None."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine_description(device: torch.device) -> str:
    """CPU model, cores, torch version (and the GPU, when the run used one)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}, {platform.system()}"
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "x":
        return f"{value:.2f}x"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown_table(records: list[Record]) -> str:
    """One row per (case, impl), one column per metric; notes (skips) in the last column."""
    metrics: list[tuple[str, str]] = []
    for r in records:
        if (r.metric, r.unit) not in metrics:
            metrics.append((r.metric, r.unit))
    rows: dict[tuple[str, str], dict] = {}
    for r in records:
        row = rows.setdefault((r.case, r.impl), {"note": ""})
        shown = _format(r.value, r.unit)
        if r.std is not None and r.value is not None:
            shown += f" ± {_format(r.std, r.unit)}"
        row[(r.metric, r.unit)] = shown
        if r.note and r.note not in row["note"]:
            row["note"] = f"{row['note']}; {r.note}" if row["note"] else r.note
    header = ["case", "impl"] + [f"{m} ({u})" if u else m for m, u in metrics] + ["note"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (case, impl), row in rows.items():
        cells = [case, impl] + [row.get(key, "") for key in metrics] + [row["note"]]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_header(title: str, device: torch.device, commit: str | None = None, program: str = "python -m benchmarks") -> str:
    """A results file's heading and provenance: machine, package versions, commit, command line, time."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join([program, *map(shlex.quote, sys.argv[1:])])
    versions = ", ".join(f"{name} {found}" for name, found in ((name, _version(name)) for name in _PACKAGES) if found)
    return (f"# {title}\n\nMachine: {machine_description(device)}  \nVersions: {versions}  \n"
            f"Commit: {commit or git_commit() or 'unknown'}  \nCommand: `{command}`  \nRun: {stamp}\n\n")


def write_results(suite: str, records: list[Record], out: Path, device: torch.device, extra: str = "",
                  commit: str | None = None) -> Path:
    """Write ``out/SUITE.json`` and ``out/SUITE.md``; returns the markdown path. ``commit`` is the code that ran
    (taken when the run started; the working tree's current commit by default)."""
    payload = [dataclasses.asdict(r) for r in records]
    write_atomically(out / f"{suite}.json", lambda path: path.write_text(json.dumps(payload, indent=1)))
    text = run_header(suite, device, commit) + (extra + "\n\n" if extra else "") + markdown_table(records) + "\n"
    path = out / f"{suite}.md"
    write_atomically(path, lambda temporary: temporary.write_text(text))
    return path
