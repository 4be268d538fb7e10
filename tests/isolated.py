"""Tests that start other processes: code that could crash the interpreter (a segfault in a compiled kernel) runs
in a fresh process, so a crash fails one test instead of ending the whole run; process groups get a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_isolated(code: str, timeout: float = 600) -> list:
    """Run ``code`` in a new interpreter (the project root on its path) and return the JSON values it printed,
    one per line (``print(json.dumps(...), flush=True)``).

    A crash (a signal, a non-zero exit) fails the calling test with the last lines of the child's output, which
    name the case that was running when it died.
    """
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=_ROOT)
    if done.returncode != 0:
        how = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        pytest.fail(f"the isolated process ended with {how}\nstdout:\n{done.stdout[-3000:]}\n"
                    f"stderr:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


OUTCOME = '''
import json, sys, traceback

def outcome(name, thunk):
    """Print ``[name, "ok", value]`` or ``[name, error type, message]`` for ``thunk()`` as one JSON line (the
    name goes out first, so a crash inside the thunk is attributed)."""
    print(json.dumps([name, "started"]), flush=True)
    try:
        value = thunk()
        print(json.dumps([name, "ok", value]), flush=True)
    except Exception as err:
        print(json.dumps([name, type(err).__name__, str(err)]), flush=True)
'''


def outcomes(code: str, timeout: float = 600) -> dict:
    """Run ``code`` (which calls ``outcome(name, thunk)`` per case; see :data:`OUTCOME`) in a fresh process and
    return ``{name: (kind, payload)}`` for the cases that finished."""
    finished = {}
    for line in run_isolated(OUTCOME + textwrap.dedent(code), timeout):
        if line[1] != "started":
            finished[line[0]] = (line[1], line[2])
    return finished


def free_port() -> int:
    """A TCP port nothing on this machine listens on now, for a process group's rendezvous."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
