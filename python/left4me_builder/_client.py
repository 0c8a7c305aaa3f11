"""Builder and Job: the calls of dbus/org.left4me.Builder.xml, synchronous.

See the package's docstring for the threading model."""

import collections
import collections.abc
import contextlib
import dataclasses
import itertools
import time

from gi.repository import Gio, GLib

from . import _transport
from ._errors import BuilderError, BusError, NoSuchJob, from_gerror

BUS_NAME = "org.left4me.Builder"
MANAGER_PATH = "/org/left4me/Builder"
MANAGER_INTERFACE = "org.left4me.Builder"
JOB_INTERFACE = "org.left4me.Builder.Job"
JOB_PATH_PREFIX = MANAGER_PATH + "/job/"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
# ReadLog's ceiling, and the fastest page: each call costs the daemon a
# re-read from its last checkpoint (every 4096 lines), so 4096-line pages
# replay about 440,000 lines/s and 65536-line pages about 1,300,000.
# Known service bug: pages are bounded by lines only, and a reply over the
# system bus's 32 MiB message limit (65536 lines averaging over 512 bytes)
# gets the daemon disconnected, losing every job. The fix belongs in ReadLog
# (a byte bound, as Log signals have); _replay already takes short pages.
READ_PAGE = 65536

# Polkit may take up to polkit_timeout_sec (20 s) and a Mount waits for
# systemd's job, so GDBus's default of 25 s is too tight; a person typing a
# password (interactive) gets all the time they need.
CALL_TIMEOUT_MS = 120_000
INTERACTIVE_TIMEOUT_MS = GLib.MAXINT

# StartBuild's options and their D-Bus types, as in the XML.
BUILD_OPTION_TYPES = {
    "memory_max": "t",
    "cpu_quota": "u",
    "tasks_max": "t",
    "timeout_sec": "t",
    "network": "s",
    "environment": "as",
    "skip_if_unchanged": "b",
}


def pack_options(options, types=BUILD_OPTION_TYPES):
    """OPTIONS (python values) as the a{sv} of a call.

    A known key gets the type of the XML, which the Python type alone cannot
    tell (cpu_quota is u, memory_max t); `environment` may be a mapping or
    KEY=VALUE strings. An unknown key is packed by its Python type and sent anyway, so
    the service, the one authority on options, answers InvalidArgument naming
    it. A GLib.Variant is sent as it is."""
    packed = {}
    for key, value in options.items():
        if isinstance(value, GLib.Variant):
            packed[key] = value
            continue
        if key == "environment" and isinstance(value, collections.abc.Mapping):
            value = [f"{name}={text}" for name, text in value.items()]
        signature = types.get(key) or _signature_of(key, value)
        packed[key] = GLib.Variant(signature, list(value) if signature == "as" else value)
    return packed


def _signature_of(key, value):
    if isinstance(value, bool):  # before int: bool is an int
        return "b"
    if isinstance(value, int):
        return "t" if value >= 0 else "x"
    if isinstance(value, float):
        return "d"
    if isinstance(value, str):
        return "s"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return "as"
    raise TypeError(f"option {key!r}: cannot pack {type(value).__name__} as a D-Bus value")


# A line the script wrote to stderr starts with this (ASCII RS); see the Log
# signal's documentation in org.left4me.Builder(5).
STDERR_MARK = "\x1e"


def split_stream(line):
    """("stdout" or "stderr", text) of a log line as Log and ReadLog give it."""
    if line.startswith(STDERR_MARK):
        return "stderr", line[1:]
    return "stdout", line


def merge(next_line, first_line, lines):
    """What a Log batch adds for a reader that has every line before NEXT_LINE.

    Returns the lines to deliver, numbered from NEXT_LINE: all of LINES, its
    tail (a replay already delivered the head) or nothing (a replay covered
    it all). Returns None when the batch starts after NEXT_LINE: lines are
    missing in between, and the reader fills them with ReadLog first."""
    if first_line > next_line:
        return None
    if first_line == next_line:
        return lines
    return lines[next_line - first_line:]


@dataclasses.dataclass(frozen=True)
class Result:
    """How a job ended: State (succeeded, failed, cancelled), systemd's Result
    (success, exit-code, signal, timeout, ...; skipped) and ExitStatus (128+N
    for signal N; -1 if the script never ran)."""

    state: str
    result: str
    exit_status: int

    @property
    def succeeded(self):
        return self.state == "succeeded"


_FINISHED = object()
_SERVICE_GONE = object()


class _JobSignals:
    """A job's signals, queued in a MainContext of our own.

    GDBus delivers a subscription's signals in the thread-default context of
    the moment it was made; pushing a private one around signal_subscribe
    means no global main loop is needed, and nothing else iterating any
    context (another thread, another stream, a GUI) can steal or delay them.
    The queue fills only while we iterate the context."""

    def __init__(self, bus, path, members):
        self._bus = bus
        self._context = GLib.MainContext.new()
        self._queue = collections.deque()
        self._ids = []
        with _thread_default(self._context):
            for member in members:
                self._ids.append(bus.signal_subscribe(BUS_NAME, JOB_INTERFACE, member, path, None,
                                                      Gio.DBusSignalFlags.NONE, self._on_job_signal))
            # If the daemon goes away, Finished never comes: stop waiting.
            self._ids.append(bus.signal_subscribe("org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                                                  "/org/freedesktop/DBus", BUS_NAME, Gio.DBusSignalFlags.NONE,
                                                  self._on_owner_changed))

    def _on_job_signal(self, _bus, _sender, _path, _interface, member, parameters):
        if member == "Log":
            # get_strv converts the whole array in C; unpack() would walk it in Python.
            self._queue.append((parameters.get_child_value(0).get_uint64(),
                                parameters.get_child_value(1).get_strv()))
        elif member == "Finished":
            self._queue.append(_FINISHED)

    def _on_owner_changed(self, _bus, _sender, _path, _interface, _member, parameters):
        if parameters.get_child_value(2).get_string() == "":
            self._queue.append(_SERVICE_GONE)

    def get(self, timeout=None):
        """The next signal: (first_line, lines), _FINISHED or _SERVICE_GONE;
        None if TIMEOUT seconds pass without one (None: wait for ever)."""
        context = self._context
        while not self._queue and context.iteration(False):
            pass
        if not self._queue:
            expired = []
            source = None
            if timeout is not None:
                source = GLib.timeout_source_new(max(0, int(timeout * 1000)))
                source.set_callback(lambda *_: expired.append(True))
                source.attach(context)
            try:
                while not self._queue and not expired:
                    context.iteration(True)
            finally:
                if source is not None:
                    source.destroy()
        return self._queue.popleft() if self._queue else None

    def close(self):
        # GDBus hands the callbacks' destroy notifies and any signal still
        # queued to our context; the drain runs them, so nothing stays
        # referenced from a context that will never run again.
        with _thread_default(self._context):
            for subscription in self._ids:
                self._bus.signal_unsubscribe(subscription)
        self._ids = []
        while self._context.iteration(False):
            pass
        self._queue.clear()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


@contextlib.contextmanager
def _thread_default(context):
    context.push_thread_default()
    try:
        yield
    finally:
        context.pop_thread_default()


class Builder:
    """A connection to org.left4me.Builder.

    BUS_ADDRESS defaults to the system bus (DBUS_SYSTEM_BUS_ADDRESS is
    honoured). HOST ("[user@]host[:port]") reaches the service on another
    host over ssh, MACHINE ("name") the one in a local container, as
    `left4me-builderctl -H`/`-M` and systemctl do (see _transport); polkit
    then asks about the ssh user there, and no password prompt can reach
    this side, so INTERACTIVE is refused with them (ValueError).
    With INTERACTIVE, calls carry ALLOW_INTERACTIVE_AUTHORIZATION,
    so polkit may ask a person (through their authentication agent) instead
    of answering InteractiveAuthorizationRequired. The connection is private
    to this object (never Gio's shared singleton), so closing it or changing
    its flags affects no one else."""

    def __init__(self, bus_address=None, interactive=False, host=None, machine=None):
        if interactive and (host is not None or machine is not None):
            raise ValueError("interactive needs the local bus: a password prompt cannot reach the other side")
        self._bus = _transport.connect(bus_address, host=host, machine=machine)
        self.interactive = interactive
        self._flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive else Gio.DBusCallFlags.NONE
        self._timeout_ms = INTERACTIVE_TIMEOUT_MS if interactive else CALL_TIMEOUT_MS

    def close(self):
        self._bus.close_sync(None)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def call(self, path, interface, method, signature=None, args=(), reply_type=None):
        """One method call; the reply's GLib.Variant. Raises BuilderError."""
        parameters = GLib.Variant(signature, tuple(args)) if signature else None
        try:
            return self._bus.call_sync(BUS_NAME, path, interface, method, parameters,
                                       GLib.VariantType(reply_type) if reply_type else None,
                                       self._flags, self._timeout_ms, None)
        except GLib.Error as error:
            raise from_gerror(error) from None

    # -- org.left4me.Builder ------------------------------------------------
    def start_build(self, overlay, script, **options):
        """Starts SCRIPT (bash source) in a sandbox over OVERLAY; returns the Job
        at once. OPTIONS: memory_max, tasks_max, timeout_sec (int), cpu_quota
        (int, percent of one CPU), network ('public' or 'none'), environment
        (dict or KEY=VALUE strings), skip_if_unchanged (bool)."""
        reply = self.call(MANAGER_PATH, MANAGER_INTERFACE, "StartBuild", "(ssa{sv})",
                          (overlay, script, pack_options(options)), "(o)")
        return Job(self, reply.get_child_value(0).get_string())

    def cancel(self, job):
        """Cancels JOB (a Job, path or id). Through the manager, so that an
        unknown job answers NoSuchJob."""
        path = job.path if isinstance(job, Job) else self.job(job).path
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "Cancel", "(o)", (path,))

    def mount(self, instance, layers, read_only=False, persistent=False):
        """Mounts an overlayfs of LAYERS (topmost first) for INSTANCE; returns
        the merged directory."""
        options = {"read_only": GLib.Variant("b", read_only), "persistent": GLib.Variant("b", persistent)}
        reply = self.call(MANAGER_PATH, MANAGER_INTERFACE, "Mount", "(sasa{sv})",
                          (instance, list(layers), options), "(s)")
        return reply.get_child_value(0).get_string()

    def unmount(self, instance):
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "Unmount", "(s)", (instance,))

    def apply_caps(self, addon, version, binary, capabilities, activate=False):
        """Sets exactly CAPABILITIES (=ep) on the add-on's binary; with
        ACTIVATE, points the add-on's `current` at VERSION."""
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "ApplyCaps", "(sssasa{sv})",
                  (addon, version, binary, list(capabilities), {"activate": GLib.Variant("b", activate)}))

    def jobs(self):
        """Every job the daemon knows (they live until it exits), oldest first."""
        reply = self.call(MANAGER_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                          reply_type="(a{oa{sa{sv}}})")
        objects = reply.get_child_value(0).unpack()
        return sorted((Job(self, path) for path, interfaces in objects.items() if JOB_INTERFACE in interfaces),
                      key=lambda job: job.id)

    def job(self, path_or_id):
        """The Job at an object path or with an id; no call is made."""
        if isinstance(path_or_id, int) or str(path_or_id).isdigit():
            return Job(self, JOB_PATH_PREFIX + str(int(path_or_id)))
        if not path_or_id.startswith(JOB_PATH_PREFIX):
            raise ValueError(f"{path_or_id!r} is neither a job id nor a path under {JOB_PATH_PREFIX}")
        return Job(self, path_or_id)


def _job_property(name, doc):
    return property(lambda job: job.get(name), doc=doc)


class Job:
    """One build, at /org/left4me/Builder/job/<id>. Every property is read
    from the service when asked (one call each; properties() gets them all)."""

    def __init__(self, builder, path):
        self.builder = builder
        self.path = path

    def __repr__(self):
        return f"<Job {self.path}>"

    def __eq__(self, other):
        return isinstance(other, Job) and other.path == self.path

    def __hash__(self):
        return hash(self.path)

    @property
    def id(self):
        return int(self.path.rsplit("/", 1)[1])

    overlay = _job_property("Overlay", "The overlay's name.")
    unit = _job_property("Unit", "left4me-build@<id>.service.")
    state = _job_property("State", "starting, running, succeeded, failed or cancelled.")
    result = _job_property("Result", "systemd's result once ended ('' before; 'skipped' for skip_if_unchanged).")
    exit_status = _job_property("ExitStatus", "The script's exit status; 128+N for signal N; -1 if none.")
    owner = _job_property("Owner", "The uid that started the job.")
    created_at = _job_property("CreatedAt", "Microseconds since the epoch.")
    finished_at = _job_property("FinishedAt", "Microseconds since the epoch; 0 while running.")
    build_hash = _job_property("BuildHash", "sha256 (hex) of the script and the effective options.")
    progress = _job_property("Progress", "0..1 as last reported by left4me-progress; -1 when unknown.")
    status_text = _job_property("StatusText", "The text of the last left4me-progress report; for a job systemd "
                                "refused to start (Result 'resources'), systemd's reason.")

    def _call(self, interface, method, signature=None, args=(), reply_type=None):
        try:
            return self.builder.call(self.path, interface, method, signature, args, reply_type)
        except BusError as error:
            # No object at the path: the job never existed, or the daemon
            # that ran it has exited (jobs do not outlive it).
            if error.name == "org.freedesktop.DBus.Error.UnknownObject":
                raise NoSuchJob(f"There is no job {self.path}; ended jobs are removed after the configured retention.") from None
            raise

    def get(self, name):
        """One property by its D-Bus name."""
        reply = self._call(PROPERTIES_INTERFACE, "Get", "(ss)", (JOB_INTERFACE, name), "(v)")
        return reply.get_child_value(0).get_variant().unpack()

    def properties(self):
        """Every property, by D-Bus name."""
        return self._call(PROPERTIES_INTERFACE, "GetAll", "(s)", (JOB_INTERFACE,), "(a{sv})").unpack()[0]

    def outcome(self):
        """The Result now (its state may still be starting or running)."""
        p = self.properties()
        return Result(p["State"], p["Result"], p["ExitStatus"])

    def cancel(self):
        """SIGTERM, SIGKILL after a second: the job ends cancelled within two.
        Cancelling an ended job changes nothing."""
        self.builder.cancel(self)

    def read_log(self, from_line=0, max_lines=READ_PAGE):
        """One page of the stored log: (next_line, lines)."""
        reply = self._call(JOB_INTERFACE, "ReadLog", "(tu)", (from_line, max_lines), "(tas)")
        return reply.get_child_value(0).get_uint64(), reply.get_child_value(1).get_strv()

    def lines(self, from_line=0):
        """Every log line from FROM_LINE on, as (number, text), live, until the
        job has ended and the last line is delivered. Works the same on a job
        that has already ended. Close the iterator (or let it go) to stop
        early. A stderr line keeps its mark: split_stream(text) tells."""
        for first, batch in self.batches(from_line):
            yield from zip(itertools.count(first), batch)

    def batches(self, from_line=0, tick=None):
        """lines() in the batches they come in: (first_line, lines). With TICK
        (seconds), also yields (next_line, []) whenever TICK passes without
        a line, so that the caller gets control back.

        No gap and no duplicate: the signals are subscribed to first, so
        anything logged after the replay's ReadLog calls arrives as a Log
        signal; the replay covers what came before. A signal's lines that
        the replay already delivered are dropped, and a signal that starts
        past the last line delivered is preceded by a ReadLog of the gap.
        The end is Finished (emitted after the last Log), or a terminal State
        seen right after subscribing; a last ReadLog collects whatever came
        after the last signal handled."""
        if from_line < 0:
            raise ValueError("from_line must be >= 0")
        with _JobSignals(self.builder._bus, self.path, ("Log", "Finished")) as signals:
            ended = self.state in TERMINAL_STATES
            next_line = yield from self._replay(from_line)
            while not ended:
                signal = signals.get(tick)
                if signal is None:
                    yield next_line, []
                elif signal is _FINISHED:
                    ended = True
                elif signal is _SERVICE_GONE:
                    raise self._service_gone()
                else:
                    first, batch = signal
                    fresh = merge(next_line, first, batch)
                    if fresh is None:
                        next_line = yield from self._replay(next_line)
                        fresh = merge(next_line, first, batch)
                        if fresh is None:  # ReadLog must cover every line signalled
                            raise BuilderError(f"{self.path}: lines {next_line} to {first - 1} are missing from "
                                               "the stored log")
                    if fresh:
                        yield next_line, fresh
                        next_line += len(fresh)
            yield from self._replay(next_line)

    def _service_gone(self):
        # Finished will never come: the daemon exited (or crashed) mid-build.
        return BusError(f"left4me-builderd exited before {self.path} finished",
                        "org.freedesktop.DBus.Error.NameHasNoOwner")

    def _replay(self, next_line):
        """Yields ReadLog pages from NEXT_LINE until one is empty; returns the
        number of the line after the last one."""
        while True:
            after, page = self.read_log(next_line)
            if not page:
                return next_line
            yield next_line, page
            next_line = after

    def wait(self, timeout=None):
        """Waits for the job to end; returns its Result. Raises TimeoutError
        after TIMEOUT seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with _JobSignals(self.builder._bus, self.path, ("Finished",)) as signals:
            if self.state not in TERMINAL_STATES:
                while True:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise TimeoutError(f"{self.path} did not finish within {timeout} s")
                    signal = signals.get(left)
                    if signal is _FINISHED:
                        break
                    if signal is _SERVICE_GONE:
                        raise self._service_gone()
        return self.outcome()

    def follow(self, on_line, should_cancel=None, poll_interval=0.2, from_line=0, on_stderr=None):
        """The job-worker shape: calls ON_LINE(text) for every line, in order,
        until the job ends, and returns its Result.

        Lines the script wrote to stderr go to ON_STDERR(text) when it is
        given, else to ON_LINE too; either way without their stream mark
        (see split_stream).

        SHOULD_CANCEL, if given, is called about every POLL_INTERVAL seconds,
        whether lines come or not; once it returns true the job is cancelled,
        and following goes on until the job has ended (within two seconds),
        so the last lines and the cancelled Result are still delivered."""
        cancelled = False
        next_poll = time.monotonic()
        for _first, batch in self.batches(from_line, tick=poll_interval if should_cancel else None):
            for line in batch:
                stream, text = split_stream(line)
                (on_stderr if stream == "stderr" and on_stderr is not None else on_line)(text)
            if should_cancel is not None and not cancelled and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + poll_interval
                if should_cancel():
                    self.cancel()
                    cancelled = True
        return self.outcome()
