"""A Python client for org.left4me.Builder (left4me-builderd).

    from left4me_builder import Builder

    with Builder() as builder:
        job = builder.start_build("demo", "make maps", timeout_sec=600, environment={"MAP": "c1m1"})
        for line in job.lines():
            print(line.number, line.stream, line.text)
        print(job.wait())   # Result(job_id=7, state='succeeded', result='success', exit_status=0, ...)

The API is dbus/org.left4me.Builder.xml (installed as
/usr/share/dbus-1/interfaces/org.left4me.Builder.xml; described in
org.left4me.Builder(5)); this package makes its calls feel like Python:
Builder (start_build, cancel, mount, unmount, apply_caps, enable_server,
disable_server, jobs, job), Job
(properties, lines, batches, follow, wait, cancel), one exception class per
org.left4me.Builder.Error.* name, and run_sandboxed_script(), the web app's
job-worker function.

The job worker
--------------
    from left4me_builder import BuildError, run_sandboxed_script

    run_sandboxed_script(overlay_id, script_text, on_stdout=..., on_stderr=...,
                         should_cancel=..., on_started=save_job_id)

returns once the build succeeded and raises BuildError (BuildCancelled when
cancelled) otherwise, with the Result, exit status and status text. The
caller needs the polkit rule of
/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules and its
user in the group `left4me`: in /etc/group, since polkit's
`subject.isInGroup()` reads the user database, not the caller's process, so
`SupplementaryGroups=left4me` in the web app's unit is not enough.

Following a job, and finding it again
-------------------------------------
job.follow() (or lines(), batches()) replays the stored log with ReadLog,
then goes live on the Log signal, with no gap and no duplicate, also for a
job that has already ended. Each line has a number (from 0, stdout and
stderr together), so a caller that stores lines keyed on (job id, number)
can stop at any point and resume exactly:

    job = builder.start_build(overlay, script)
    db.save_job(job.id)                                 # before any line
    job.follow(on_lines=db.insert_lines,                # a list of LogLine per Log signal
               should_detach=shutting_down.is_set)      # stop following; the build goes on

    # later, in any process (after a redeploy, say):
    job = builder.job(saved_id)
    if job.owner != os.getuid():                        # ids are not secrets: check whose it is
        ...
    job.follow(on_lines=db.insert_lines, from_line=db.last_number(saved_id) + 1)

An ended job stays, log included, until the daemon's retention
(job_retention_sec, job_retention_count) removes it; then every call on it
raises NoSuchJob, and the lines not yet stored are gone.

Restarts of the service are no gap: builds outlive the daemon, and when it
leaves the bus a stream calls it again (bus activation, or systemd's
Restart=, brings it back) and replays from the next line. It waits at most
Builder(restart_timeout=...) seconds (30) for that, then raises ServiceLost
with ``next_line``.

If a callback of follow() raises, the exception propagates and the build
goes on, followed by nobody; run_sandboxed_script() cancels it first.

Lines
-----
systemd appends stdout and stderr to one log, interleaved as written. A
LogLine is (number, stream, text): the text carries no newline, invalid
UTF-8 is U+FFFD, a line over 64 KiB arrives in pieces, and output that
redraws itself with \\r stays one line until a \\n. batches() and read_log()
give the raw strings, fast (a stderr line starts with STDERR_MARK, "\\x1e";
LogLine.parse and split_stream take it off).

A script reports progress with `left4me-progress PERCENT|- [TEXT]`, which
prints a marker line. follow(on_progress=...) parses those as they pass, by
the daemon's rules (parse_progress), live and on replay, at no call's cost;
hide_progress=True keeps them out of the log lines handed over.

A build is stopped at its Deadline (job.deadline: microseconds since the
epoch, its start plus timeout_sec). Before that (by default once 75% of
the time has passed) the job warns: job.timeout_warned turns true, and
follow(on_timeout_warning=...) (also lines(), batches() and
run_sandboxed_script()) is told the deadline once, in order with the lines,
or at once when it attaches to a job that was warned already.

Errors, retries, timeouts
-------------------------
Every failed call raises a BuilderError; each org.left4me.Builder.Error.*
name is its own class. Busy, LimitsExceeded and AuthorizationUnavailable
are Retryable: the same call may succeed later. A call that does not reach
the service is a BusError: Disconnected (the bus connection is gone; also a
ConnectionError) or CallTimeout (no answer within Builder(timeout=...),
120 s by default; also a TimeoutError), or another BusError (the bus
refused it, or the service cannot be started). A closed connection, or a
Builder that another thread closes, ends every call and wait within about
a second.

Threads and event loops
-----------------------
Everything is synchronous and needs no main loop, so it fits a job-worker
thread. Each Builder owns a private GDBusConnection (not Gio's shared
system-bus singleton). Each lines(), batches(), follow() or wait()
subscribes to its job's signals in a GLib.MainContext of its own and
iterates only that context, so two threads, each with its own Builder or
sharing one, never interfere. The subscriptions name the service as the
sender, so GDBus drops signals anyone else sends.

An asyncio caller runs the blocking calls in worker threads, a thread per
call in flight and nothing per line:

    job = await asyncio.to_thread(builder.start_build, "demo", script)
    stop = threading.Event()
    try:
        result = await asyncio.to_thread(job.follow, on_line, should_detach=stop.is_set)
    finally:
        stop.set()

Cancelling the awaiting task does not stop the thread (asyncio cannot
interrupt it) nor the build: the `finally` makes follow() return within
poll_interval (0.2 s) and the build goes on; call job.cancel() too to stop
the build. ON_LINE runs in the worker thread: hand lines to the loop with
loop.call_soon_threadsafe. A lines() iterator may be advanced from pool
threads one step at a time: ``await asyncio.to_thread(next, iterator, None)``.

Why Gio (python3-gi) and nothing else
-------------------------------------
* Speed: a build may log a million lines a second. Gio marshals and
  demarshals in C, and a Log signal's array of 8192 lines becomes a Python
  list in one get_strv() call. python3-jeepney demarshals in pure Python;
  python3-dbus-next is asyncio-only, and slower still.
* It is already there: Debian installs it with most desktops and servers.
* It supports ALLOW_INTERACTIVE_AUTHORIZATION (``Builder(interactive=True)``),
  which polkit needs before it may ask a person for a password.
* It checks signal senders (above), and watches the service's name
  (Gio.bus_watch_name_on_connection). Gio.DBusObjectManagerClient is not
  used: its match rule would receive every Log signal of every job.
"""

from ._client import DEFAULT_RESTART_TIMEOUT, DEFAULT_TIMEOUT, AddonUnits, Builder, Job, JobInfo, Result
from ._errors import (
    AlreadyMounted,
    AuthorizationUnavailable,
    BuildCancelled,
    BuildError,
    BuilderError,
    Busy,
    BusError,
    CallTimeout,
    CapabilityNotAllowed,
    Disconnected,
    Failed,
    InteractiveAuthorizationRequired,
    InvalidArgument,
    LimitsExceeded,
    LimitsUnenforceable,
    NoSuchAddon,
    NoSuchJob,
    NotAuthorized,
    NotMounted,
    NotSupported,
    Retryable,
    ServiceLost,
    UnitNotAllowed,
    UnsupportedFilesystem,
)
from ._log import STDERR_MARK, LogLine, parse_progress, split_stream
from ._worker import run_sandboxed_script

__all__ = [
    "Builder", "Job", "JobInfo", "Result", "LogLine", "STDERR_MARK", "split_stream", "parse_progress",
    "run_sandboxed_script", "DEFAULT_TIMEOUT", "DEFAULT_RESTART_TIMEOUT",
    "BuildError", "BuildCancelled",
    "BuilderError", "Retryable", "BusError", "Disconnected", "CallTimeout", "ServiceLost",
    "AlreadyMounted", "AuthorizationUnavailable", "Busy", "CapabilityNotAllowed", "Failed",
    "InteractiveAuthorizationRequired", "InvalidArgument", "LimitsExceeded", "LimitsUnenforceable", "NoSuchJob",
    "NoSuchAddon", "NotAuthorized", "NotMounted", "NotSupported", "UnitNotAllowed", "UnsupportedFilesystem",
    "AddonUnits",
]
