"""A job's child process, `python -m modelcommons.jobs.child`, started by jobs/sandbox.py.

It reads one task as JSON on stdin: `{"target": "module:function", "args": {...}, "token":
..., "parent": pid, "memory": bytes}`, caps its memory, calls `function(args, token=...,
report=...)` and answers in JSON lines on its stdout: `{"progress": f, "line": s, "log":
bool}` while it works, then `{"result": {...}}` or `{"error": {"type": ..., "message":
...}}`. Whatever the libraries print goes to
stderr, so it cannot be taken for an answer. It has none of the hub's settings, so it talks
to the hub over HTTP with the job's token, like any client, and before it imports the work
it confines itself to its folder (jobs/confine.py).
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from modelcommons.jobs.confine import confine

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Report:
    """How the work tells its parent how far it got."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def step(self, fraction: float, line: str) -> None:
        """Progress from a loop: the parent may drop the line when they come fast."""
        send(self._out, {"progress": fraction, "line": line, "log": False})

    def log(self, fraction: float, line: str) -> None:
        """A milestone: always written to the job's log."""
        send(self._out, {"progress": fraction, "line": line, "log": True})


def send(out: TextIO, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _die_with(parent: int) -> None:
    """SIGKILL when the worker that started us dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the call above
        os._exit(1)


def _limit_memory(limit: int) -> None:
    """Cap what the child may allocate (its data: heap and private mappings, not the model
    files it maps read-only) before any work runs: past it, allocations fail with a
    MemoryError instead of taking the machine. A lowered hard limit cannot be raised again."""
    if limit <= 0 or not hasattr(resource, "RLIMIT_DATA"):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def main() -> None:
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    task = json.loads(sys.stdin.read())
    _die_with(int(task["parent"]))
    _limit_memory(int(task.get("memory") or 0))
    report = Report(answers)
    if not confine(Path.cwd()):
        report.log(0.0, "This kernel has no Landlock: the job's files are not confined.")
    module, name = str(task["target"]).split(":")
    work = getattr(importlib.import_module(module), name)
    try:
        result = work(task["args"], token=task.get("token"), report=report)
    except Exception as exc:  # the parent records it as the job's failure
        traceback.print_exc()
        send(answers, {"error": {"type": type(exc).__name__, "message": str(exc)}})
        sys.exit(1)
    send(answers, {"result": result})


if __name__ == "__main__":
    main()
