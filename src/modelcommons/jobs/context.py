"""What a running job's handler holds: a JobContext, to report progress and learn of cancel."""

from __future__ import annotations

import time

from modelcommons.db.engine import read_session, write_session
from modelcommons.errors import JobCancelledError
from modelcommons.hub import jobs


class JobContext:
    """The worker's side of hub.jobs.Progress, for one job: each report renews its lease."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._last_write = 0.0

    def step(self, fraction: float, line: str) -> None:
        """Progress from a long loop: written at most twice a second; raises
        JobCancelledError once the job was asked to stop."""
        now = time.monotonic()
        if now - self._last_write < 0.5 and fraction < 1.0:
            return
        self._last_write = now
        if not self.progress(fraction, line):
            raise JobCancelledError(f"job {self.job_id} was cancelled")

    def progress(self, fraction: float, line: str | None = None) -> bool:
        """Record progress and renew the lease. Returns False when cancel was requested."""
        with write_session() as session:
            return jobs.record_progress(session, self.job_id, fraction, line)

    def cancel_requested(self) -> bool:
        with read_session() as session:
            return jobs.cancel_requested(session, self.job_id)
