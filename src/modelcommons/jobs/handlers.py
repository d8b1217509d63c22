"""Which function runs each kind of job: the one table of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelcommons.hub import gc, scans
from modelcommons.hub.jobs import Job, JobKind
from modelcommons.hub.xet import convert
from modelcommons.jobs.context import JobContext
from modelcommons.jobs.ml_work import evaluate_job, tune_job

Handler = Callable[[Job, JobContext], dict[str, Any] | None]

HANDLERS: dict[JobKind, Handler] = {
    "scan": scans.run_scan,  # pickle import scan of new content
    "xet-convert": convert.convert,  # an LFS blob into Xet (`commons storage convert`)
    "tune": tune_job,  # fine-tune, in a sandboxed child
    "evaluate": evaluate_job,  # verified evaluation, in a sandboxed child
    "gc": gc.run_gc_job,  # garbage collection, queued every COMMONS_GC_INTERVAL_SECONDS
}
