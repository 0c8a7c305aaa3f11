"""run_sandboxed_script(): the web app's job-worker function, on the service."""

from __future__ import annotations

from typing import Callable, Optional

from ._client import Builder, Job, Result
from ._errors import BuildCancelled, BuildError, BuilderError


def run_sandboxed_script(overlay_id: str, script_text: str, *, on_stdout: Callable[[str], object],
                         on_stderr: Callable[[str], object], should_cancel: Callable[[], bool],
                         on_started: Optional[Callable[[int], object]] = None,
                         on_timeout_warning: Optional[Callable[[int], object]] = None) -> None:
    """Runs SCRIPT_TEXT (bash) in the sandbox over the overlay OVERLAY_ID and
    returns once it succeeded; raises BuildError otherwise.

    * ON_STDOUT(text) and ON_STDERR(text) get each line as it arrives, in
      the order written, without its newline (see LogLine for what else
      differs from the bytes written; progress marker lines are stdout
      lines, parse_progress() tells them).
    * SHOULD_CANCEL() is called about every 0.2 s, lines or not; once it
      returns true the build is cancelled, its last lines still arrive, and
      BuildCancelled (a BuildError) is raised.
    * ON_STARTED(job_id), if given, is called once the job exists, before
      any line: store the id, and after a crash or a redeploy of the app,
      ``Builder().job(job_id)`` finds the build again (see the README's
      integration recipe).
    * ON_TIMEOUT_WARNING(deadline), if given, is called once if the build
      runs long enough to be warned that its timeout will stop it at
      DEADLINE (microseconds since the epoch; by default once 75% of it has
      passed): tell the user.

    BuildError carries ``result`` (Result: job_id, state, result,
    exit_status, status_text), ``exit_status``, ``status_text`` and
    ``job_id``. If the build could not be started or followed to its end,
    ``result`` is None and the BuilderError is its ``__cause__``:
    ``retryable`` tells Busy, LimitsExceeded and AuthorizationUnavailable
    from the rest. A restart of the service during the build is no failure:
    the lines go on with none lost or repeated.

    If a callback raises, the build is cancelled (nobody would record the
    rest of it) and the exception propagates unchanged."""
    try:
        with Builder() as builder:
            try:
                job = builder.start_build(overlay_id, script_text)
            except BuilderError as error:
                raise BuildError(f"The build over {overlay_id} could not start: {error}") from error
            result = _follow(job, on_stdout, on_stderr, should_cancel, on_started, on_timeout_warning)
    except BuilderError as error:  # the connection: made, closed
        raise BuildError(f"The build over {overlay_id} could not run: {error}",
                         job_id=getattr(error, "job_id", None)) from error
    if result.succeeded:
        return
    if result.state == "cancelled":
        raise BuildCancelled(f"Build {result.job_id} over {overlay_id} was cancelled", result)
    raise BuildError(_failure(overlay_id, result), result)


def _follow(job: Job, on_stdout: Callable[[str], object], on_stderr: Callable[[str], object],
            should_cancel: Callable[[], bool], on_started: Optional[Callable[[int], object]],
            on_timeout_warning: Optional[Callable[[int], object]]) -> Result:
    try:
        if on_started is not None:
            on_started(job.id)
        return job.follow(on_stdout, on_stderr=on_stderr, should_cancel=should_cancel,
                          on_timeout_warning=on_timeout_warning)
    except BuilderError as error:
        raise BuildError(f"Build {job.id} could not be followed to its end: {error}", job_id=job.id) from error
    except BaseException:
        try:
            job.cancel()
        except BuilderError:
            pass  # the original exception says more
        raise


def _failure(overlay_id: str, result: Result) -> str:
    how = {"exit-code": f"exit status {result.exit_status}", "signal": f"killed, exit status {result.exit_status}",
           "timeout": "ran out of time (timeout_sec)"}.get(result.result, f"result {result.result or 'unknown'}")
    text = f": {result.status_text}" if result.status_text else ""
    return f"Build {result.job_id} over {overlay_id} failed ({how}){text}"
