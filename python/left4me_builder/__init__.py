"""A thin Python client for org.left4me.Builder (left4me-builderd).

    from left4me_builder import Builder

    with Builder() as builder:
        job = builder.start_build("demo", "make maps", timeout_sec=600, environment={"MAP": "c1m1"})
        for number, text in job.lines():
            print(number, text)
        print(job.wait())          # Result(state='succeeded', result='success', exit_status=0)

The API is dbus/org.left4me.Builder.xml (installed as
/usr/share/dbus-1/interfaces/org.left4me.Builder.xml); this package only makes
its calls feel like Python: Builder (start_build, cancel, mount, unmount,
apply_caps, jobs, job), Job (properties, lines, follow, wait, cancel) and one
exception class per org.left4me.Builder.Error.* name, all BuilderError.

Why Gio (python3-gi) and nothing else
-------------------------------------
* Speed: a build may log a million lines a second. Gio marshals and
  demarshals in C, and a Log signal's array of 8192 lines becomes a Python
  list in one get_strv() call. python3-jeepney demarshals in pure Python, one
  string at a time; python3-dbus-next is asyncio-only, which a job-worker
  thread cannot use directly, and slower still.
* It is already there: the end-to-end tests use it, and Debian installs it
  with most desktops and many servers.
* It supports D-Bus's ALLOW_INTERACTIVE_AUTHORIZATION call flag
  (``Builder(interactive=True)``), which polkit needs before it may ask a
  person for a password.

Threads and event loops
-----------------------
Everything is synchronous and needs no main loop. Each Builder owns a private
GDBusConnection (not Gio's shared system-bus singleton). Each lines(),
batches(), follow() or wait() subscribes to its job's signals in a
GLib.MainContext of its own, pushed as thread-default just while subscribing,
and iterates only that context. So:

* a web app's job-worker thread calls ``job.follow(on_stdout,
  should_cancel=...)`` (see examples/run_sandboxed_script.py);
* two threads, each with its own Builder or sharing one, never interfere:
  the connection is thread-safe and no two streams share a context;
* an asyncio caller runs the blocking calls in worker threads, which costs a
  thread per call in flight and nothing per line:

      job = await asyncio.to_thread(builder.start_build, "demo", script)
      loop = asyncio.get_running_loop()
      result = await asyncio.to_thread(
          job.follow, lambda text: loop.call_soon_threadsafe(queue.put_nowait, text))

  and a lines() iterator may be advanced from pool threads, one step at a
  time: ``await asyncio.to_thread(next, iterator, None)``.

stdout and stderr
-----------------
systemd appends both to one log, interleaved as written; a line the script
wrote to stderr starts with STDERR_MARK ("\\x1e"), and split_stream(line)
returns ("stderr", text) for it. follow() takes ON_LINE and an optional
ON_STDERR and hands each the text without the mark; lines() and read_log()
give the lines as stored.
"""

from ._client import STDERR_MARK, Builder, Job, Result, split_stream
from ._errors import (
    AlreadyMounted,
    AuthorizationUnavailable,
    BuilderError,
    Busy,
    BusError,
    CapabilityNotAllowed,
    Failed,
    InteractiveAuthorizationRequired,
    InvalidArgument,
    LimitsExceeded,
    LimitsUnenforceable,
    NoSuchJob,
    NotAuthorized,
    NotMounted,
    NotSupported,
    UnsupportedFilesystem,
)

__all__ = [
    "Builder", "Job", "Result", "STDERR_MARK", "split_stream",
    "BuilderError", "BusError", "AlreadyMounted", "AuthorizationUnavailable", "Busy", "CapabilityNotAllowed",
    "Failed", "InteractiveAuthorizationRequired", "InvalidArgument", "LimitsExceeded", "LimitsUnenforceable",
    "NoSuchJob", "NotAuthorized", "NotMounted", "NotSupported", "UnsupportedFilesystem",
]
