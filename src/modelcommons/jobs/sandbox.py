"""Running a job's ML work in a child process that holds none of the hub's secrets.

Tunes and evaluations load models other people uploaded. Their work runs in
`python -m modelcommons.jobs.child` with an environment built from an allowlist (no
COMMONS_*, no database or store credentials, no AWS_*), a fresh folder of its own as its
working folder, home and Hugging Face cache (so no job sees another's downloads), and the
job's token as its only credential; where the kernel has Landlock, the child also confines
itself to that folder and the system's files (jobs/confine.py), so it reads neither the hub's
home nor other processes' environments. The worker stays the parent: it relays progress to the
job, kills the child on cancel or when COMMONS_JOB_TIMEOUT_SECONDS runs out, and removes
the folder afterwards. The child leads a process group of its own (killed whole), and dies
with the worker (PR_SET_PDEATHSIG, set in the child).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from modelcommons import errors
from modelcommons.jobs.context import JobContext

CHILD = [sys.executable, "-m", "modelcommons.jobs.child"]
# What a child may inherit: how to find programs and libraries, language, the hub's URL, and
# the switches of the HF libraries and of thread pools. Nothing else, secrets least of all.
PASSED = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "PYTHONPATH",
    "HF_ENDPOINT",
    "HF_HUB_DISABLE_XET",
    "HF_HUB_DISABLE_TELEMETRY",
    "HF_HUB_DISABLE_PROGRESS_BARS",
    "HF_HUB_ETAG_TIMEOUT",
    "HF_HUB_DOWNLOAD_TIMEOUT",
    "HF_UPDATE_DOWNLOAD_COUNTS",
    "TOKENIZERS_PARALLELISM",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG",
)
POLL_SECONDS = 1.0  # how often a silent child's job is checked for cancel and time limit
MAX_ANSWER_BYTES = 4 * 1024**2  # one line of the child's answers; longer ones are cut
STDERR_TAIL = 2000  # characters of the child's stderr kept when it dies without an answer


class ChildFailed(Exception):
    """The child stopped without an answer, or failed with an error of no hub type."""


def child_env(folder: Path) -> dict[str, str]:
    """The child's whole environment: the allowlist, with home and caches in its folder."""
    env = {name: os.environ[name] for name in PASSED if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update(
        HOME=str(folder),
        TMPDIR=str(folder / "tmp"),
        XDG_CACHE_HOME=str(folder / "cache"),
        HF_HOME=str(folder / "hf"),
        HF_HUB_CACHE=str(folder / "hf" / "hub"),
        HF_HUB_DISABLE_IMPLICIT_TOKEN="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def memory_limit() -> int:
    """The most memory a job's child may take: half of the machine's. A model's files decide
    how much its loading allocates (a config's sizes, an image size), and without a bound one
    job could take the whole machine, the hub with it."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2


def child_task(target: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
    """What the child reads on its standard input (see jobs/child.py)."""
    return {
        "target": target,
        "args": args,
        "token": token,
        "parent": os.getpid(),
        "memory": memory_limit(),
    }


def run_in_child(
    target: str,
    args: dict[str, Any],
    *,
    context: JobContext,
    token: str | None,
    timeout: float,
) -> dict[str, Any]:
    """`target` ("module:function") run in a child on `args`; its result, or its error
    raised here (as the hub's error type when it is one)."""
    folder = Path(tempfile.mkdtemp(prefix=f"commons-job-{context.job_id}-"))
    try:
        (folder / "tmp").mkdir()
        with open(folder / "stderr.log", "w+b") as stderr:
            child = subprocess.Popen(
                CHILD,
                cwd=folder,
                env=child_env(folder),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                process_group=0,
            )
            try:
                task = child_task(target, args, token)
                assert child.stdin is not None and child.stdout is not None  # PIPE above
                child.stdin.write(json.dumps(task).encode())
                child.stdin.close()
                result = _follow(child.stdout, context, time.monotonic() + timeout, timeout)
            finally:
                _kill(child)
            if result is None:
                stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - STDERR_TAIL))
                raise ChildFailed(
                    f"the job's process stopped (exit code {child.returncode}) without an "
                    f"answer; its last words: {stderr.read().decode(errors='replace')}"
                )
            return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _follow(
    out: IO[bytes], context: JobContext, deadline: float, timeout: float
) -> dict[str, Any] | None:
    """Relay the child's answers until it ends (its result, or None when it gave none), is
    cancelled or runs out of time."""
    answers: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=_read, args=(out, answers), daemon=True).start()
    result: dict[str, Any] | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.JobTimeoutError(
                f"the job ran longer than its limit of {timeout:g} s "
                "(COMMONS_JOB_TIMEOUT_SECONDS) and was stopped"
            )
        try:
            raw = answers.get(timeout=min(POLL_SECONDS, remaining))
        except queue.Empty:
            if context.cancel_requested():
                # from None: the empty poll is not the cause; the job's owner cancelled it
                raise errors.JobCancelledError(f"job {context.job_id} was cancelled") from None
            continue
        if raw is None:
            return result
        answer = _parse(raw)
        if "progress" in answer:
            _relay(context, answer)
        elif isinstance(answer.get("result"), dict):
            result = answer["result"]
        elif isinstance(answer.get("error"), dict):
            _raise(answer["error"])


def _read(out: IO[bytes], answers: queue.Queue[bytes | None]) -> None:
    """The only reader of the child's stdout, so it closes the pipe at EOF (once the child is
    gone, killed at the latest), where no other thread can be reading it."""
    with out:
        while line := out.readline(MAX_ANSWER_BYTES):
            answers.put(line)
    answers.put(None)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _relay(context: JobContext, answer: dict[str, Any]) -> None:
    fraction, line = float(answer["progress"]), str(answer.get("line") or "")[:1000]
    if not answer.get("log"):
        context.step(fraction, line)  # raises JobCancelledError
    elif not context.progress(fraction, line):
        raise errors.JobCancelledError(f"job {context.job_id} was cancelled")


def _raise(error: dict[str, Any]) -> None:
    """The child's error as the hub's own type (so the job's log reads as before), or as
    ChildFailed for anything else."""
    name, message = str(error.get("type")), str(error.get("message"))[:2000]
    kind = getattr(errors, name, None)
    if isinstance(kind, type) and issubclass(kind, errors.CommonsError):
        raise kind(message)
    raise ChildFailed(f"{name}: {message}")


def _kill(child: subprocess.Popen[bytes]) -> None:
    """The child and anything it started: they share its process group."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone, with all it started
        pass
    child.wait()
