"""Builder and Job: the calls of dbus/org.left4me.Builder.xml, synchronous.

See the package's docstring for the threading model."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from typing import (Any, Callable, Collection, Dict, Generator, Iterator, List, Mapping, Optional, Sequence, Set, Tuple,
                    Union)

from gi.repository import Gio, GLib

from . import _transport
from ._errors import BuilderError, BusError, CallTimeout, Disconnected, NoSuchJob, ServiceLost, from_gerror
from ._events import APPEARED, BUS_NAME, FINISHED, JOB_INTERFACE, VANISHED, JobEvents, Mark, TimeoutWarning
from ._log import LogLine, log_lines, merge, parse_progress
from ._options import (APPLY_CAPS_OPTIONS, BUILD_OPTIONS, INSTALL_UNITS_OPTIONS, MOUNT_OPTIONS, SERVER_OPTIONS,
                       pack_options)

MANAGER_PATH = "/org/left4me/Builder"
MANAGER_INTERFACE = "org.left4me.Builder"
JOB_PATH_PREFIX = MANAGER_PATH + "/job/"
PROPERTIES_INTERFACE = "org.freedesktop.DBus.Properties"
OBJECT_MANAGER_INTERFACE = "org.freedesktop.DBus.ObjectManager"
ADDON_UNITS_INTERFACE = "org.left4me.Builder.AddonUnits"

TERMINAL_STATES = frozenset({"succeeded", "failed", "cancelled"})
# ReadLog's ceiling, and the fastest page: each call costs the daemon a
# re-read from its last checkpoint (every 4096 lines), so 4096-line pages
# replay about 440,000 lines/s and 65536-line pages about 1,300,000. The
# service also bounds a page by 8 MiB of text, so a page of long lines
# stays far below the bus's message limit.
READ_PAGE = 65536

# The clients' one timeout policy for a call: polkit may take up to
# polkit_timeout_sec (20 s) and a Mount waits for systemd's job (up to
# 25 s) after it, so GDBus's default of 25 s is too tight; 120 s leaves
# room for a loaded machine. A person typing a password (interactive)
# gets all the time they need: no limit.
DEFAULT_TIMEOUT = 120.0
# How long a stream or wait waits for the service to come back after it
# left the bus (a restart, a crash that systemd restarts, an upgrade).
DEFAULT_RESTART_TIMEOUT = 30.0
# Between tries to reach a service that left, growing up to the most.
_RETRY_FIRST, _RETRY_MOST = 0.05, 1.0
# How long a stream waits for the service to come back by itself before
# calling it. After a crash systemd restarts it (Restart=on-failure, in
# about 0.3 s); a call in the meantime is an activation request that starts
# it too, and systemd counts both against the unit's start limit (5 in
# 10 s): calling at once, three crashes in four seconds locked the service
# out, and bus activation then waited 25 s for it (measured in the e2e
# container, systemd 252). After a clean stop nothing restarts it, and the
# call comes this much later.
_RESTART_GRACE = 1.0

_UNSET: Any = object()

# What batches() yields: (first_line, lines), or (next_line, []) for a tick.
Batches = Generator[Tuple[int, List[str]], None, None]
# Told the deadline (microseconds since the epoch) when a job warns that its
# timeout will stop it.
OnTimeoutWarning = Optional[Callable[[int], object]]


@dataclasses.dataclass(frozen=True)
class Result:
    """How a job ended, or where it stands: its JOB_ID, State (starting,
    running; succeeded, failed, cancelled once ended), systemd's Result
    (success, exit-code, signal, timeout, resources, log-limit, ...;
    skipped; '' before the end), ExitStatus (128+N for signal N; -1 if the
    script never ran) and StatusText (the last left4me-progress text, or
    systemd's reason when it refused to start the build: Result
    'resources')."""

    job_id: int
    state: str
    result: str
    exit_status: int
    status_text: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state == "succeeded"

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclasses.dataclass(frozen=True)
class AddonUnits:
    """An add-on's installed units (Builder.addon_units()): the VERSION
    they came from, the UNITS and those of them ENABLED."""

    addon: str
    version: str
    units: List[str]
    enabled: List[str]


@dataclasses.dataclass(frozen=True)
class JobInfo:
    """Every property of a job at one moment (Builder.jobs(), Job.info()).
    DEADLINE and TIMEOUT_WARNED are 0 and False from a service too old to
    have them."""

    id: int
    overlay: str
    unit: str
    state: str
    result: str
    exit_status: int
    owner: int
    created_at: int
    finished_at: int
    build_hash: str
    progress: float
    status_text: str
    deadline: int = 0
    timeout_warned: bool = False

    @classmethod
    def from_properties(cls, p: Mapping[str, Any]) -> "JobInfo":
        return cls(id=p["Id"], overlay=p["Overlay"], unit=p["Unit"], state=p["State"], result=p["Result"],
                   exit_status=p["ExitStatus"], owner=p["Owner"], created_at=p["CreatedAt"],
                   finished_at=p["FinishedAt"], build_hash=p["BuildHash"], progress=p["Progress"],
                   status_text=p["StatusText"], deadline=p.get("Deadline", 0),
                   timeout_warned=p.get("TimeoutWarned", False))

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL_STATES


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
    of answering InteractiveAuthorizationRequired.

    TIMEOUT is how long each call may take, in seconds: 120 by default
    (polkit's 20 s plus a Mount's wait for systemd), no limit (None) when
    INTERACTIVE. A call that takes longer raises CallTimeout, which is also
    a TimeoutError. RESTART_TIMEOUT is how long lines(), follow() and
    wait() wait for the service to come back after it left the bus (30 s):
    they make a call, which bus activation answers by starting it, and go on
    from the next line; past it they raise ServiceLost.

    The connection is private to this object (never Gio's shared singleton),
    so closing it affects no one else. Any thread may use it, also several
    at once, and close() may come from any thread: every call and wait in
    progress then ends within about a second with Disconnected (also a
    ConnectionError), as it does when the bus itself goes away."""

    def __init__(self, bus_address: Optional[str] = None, interactive: bool = False, *,
                 timeout: Optional[float] = _UNSET, restart_timeout: float = DEFAULT_RESTART_TIMEOUT,
                 host: Optional[str] = None, machine: Optional[str] = None) -> None:
        if interactive and (host is not None or machine is not None):
            raise ValueError("interactive needs the local bus: a password prompt cannot reach the other side")
        self.interactive = interactive
        self.timeout: Optional[float] = (None if interactive else DEFAULT_TIMEOUT) if timeout is _UNSET else timeout
        self.restart_timeout = restart_timeout
        self._flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive else Gio.DBusCallFlags.NONE
        self._lock = threading.Lock()
        self._waiters: Set[GLib.MainContext] = set()
        self._closed = False
        try:
            self._bus = _transport.connect(bus_address, host=host, machine=machine)
        except BusError as error:
            raise Disconnected(f"Cannot connect to the bus: {error}") from None

    @property
    def closed(self) -> bool:
        """True once close() was called or the bus went away."""
        return self._closed or self._bus.is_closed()

    def close(self) -> None:
        """Closes the connection. Calls and waits in progress in other threads
        end with Disconnected. Closing twice is harmless."""
        with self._lock:
            self._closed = True
            waiters = list(self._waiters)
        for context in waiters:
            context.wakeup()
        try:
            self._bus.close_sync(None)
        except GLib.Error:
            pass  # closed already

    def __enter__(self) -> "Builder":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise Disconnected("The connection to the bus is closed: Builder.close() was called")
        if self._bus.is_closed():
            raise Disconnected("The connection to the bus is closed: the bus went away")

    def _add_waiter(self, context: GLib.MainContext) -> None:
        with self._lock:
            self._waiters.add(context)

    def _remove_waiter(self, context: GLib.MainContext) -> None:
        with self._lock:
            self._waiters.discard(context)

    def _timeout_ms(self, timeout: Optional[float]) -> int:
        most = int(GLib.MAXINT)
        return most if timeout is None else max(1, min(most, int(timeout * 1000)))

    def call(self, path: str, interface: str, method: str, signature: Optional[str] = None,
             args: Sequence[Any] = (), reply_type: Optional[str] = None,
             timeout: Optional[float] = _UNSET) -> GLib.Variant:
        """One method call; the reply's GLib.Variant. Raises BuilderError.
        TIMEOUT (seconds) overrides the Builder's for this call."""
        self._check_open()
        parameters = GLib.Variant(signature, tuple(args)) if signature else None
        try:
            return self._bus.call_sync(BUS_NAME, path, interface, method, parameters,
                                       GLib.VariantType(reply_type) if reply_type else None,
                                       self._flags, self._timeout_ms(self.timeout if timeout is _UNSET else timeout),
                                       None)
        except GLib.Error as error:
            raise from_gerror(error) from None

    # -- org.left4me.Builder ------------------------------------------------
    def start_build(self, overlay: str, script: str, *, memory_max: Optional[int] = None,
                    cpu_quota: Optional[int] = None, tasks_max: Optional[int] = None,
                    timeout_sec: Optional[int] = None, network: Optional[str] = None,
                    environment: Union[Mapping[str, str], Sequence[str], None] = None,
                    skip_if_unchanged: Optional[bool] = None) -> "Job":
        """Starts SCRIPT (bash source) in a sandbox over OVERLAY; returns the
        Job at once. Each option left out (None) takes the configured
        default: MEMORY_MAX (bytes), TASKS_MAX, TIMEOUT_SEC, CPU_QUOTA
        (percent of one CPU), NETWORK ('public' or 'none'), ENVIRONMENT (a
        mapping or KEY=VALUE strings), SKIP_IF_UNCHANGED (the job has
        already succeeded, Result 'skipped', if the last successful build of
        OVERLAY had the same inputs). A misspelt option is a TypeError and a
        wrong type a TypeError or ValueError, raised here; a value the
        service does not allow is InvalidArgument."""
        options = pack_options({"memory_max": memory_max, "cpu_quota": cpu_quota, "tasks_max": tasks_max,
                                "timeout_sec": timeout_sec, "network": network, "environment": environment,
                                "skip_if_unchanged": skip_if_unchanged}, BUILD_OPTIONS)
        reply = self.call(MANAGER_PATH, MANAGER_INTERFACE, "StartBuild", "(ssa{sv})", (overlay, script, options),
                          "(o)")
        return Job(self, reply.get_child_value(0).get_string())

    def cancel(self, job: Union["Job", str, int]) -> None:
        """Cancels JOB (a Job, path or id). Through the manager, so that an
        unknown job answers NoSuchJob."""
        path = job.path if isinstance(job, Job) else self.job(job).path
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "Cancel", "(o)", (path,))

    def mount(self, instance: str, layers: Sequence[str], *, read_only: bool = False,
              persistent: bool = False) -> str:
        """Mounts an overlayfs of LAYERS (topmost first) for INSTANCE; returns
        the merged directory."""
        options = pack_options({"read_only": read_only, "persistent": persistent}, MOUNT_OPTIONS)
        reply = self.call(MANAGER_PATH, MANAGER_INTERFACE, "Mount", "(sasa{sv})", (instance, list(layers), options),
                          "(s)")
        return str(reply.get_child_value(0).get_string())

    def unmount(self, instance: str) -> None:
        """Unmounts INSTANCE (never lazily: Busy while it is in use)."""
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "Unmount", "(s)", (instance,))

    def apply_caps(self, addon: str, version: str, binary: str, capabilities: Sequence[str], *,
                   activate: bool = False) -> None:
        """Sets exactly CAPABILITIES (=ep) on the add-on's binary; with
        ACTIVATE, points the add-on's `current` at VERSION."""
        options = pack_options({"activate": activate}, APPLY_CAPS_OPTIONS)
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "ApplyCaps", "(sssasa{sv})",
                  (addon, version, binary, list(capabilities), options))

    def install_units(self, addon: str, version: str, units: Sequence[str], *,
                      enable: Optional[Sequence[str]] = None, now: bool = False) -> None:
        """Installs the add-on's systemd UNITS from its VERSION's units/
        directory in place of its previous ones, as one step; ENABLE names
        those to enable and NOW starts (or restarts) them. A unit that would
        run as root or reach beyond the add-on is UnitNotAllowed; a failed
        step puts the previous units back and raises Failed."""
        options = pack_options({"enable": list(enable) if enable else None, "now": now or None},
                               INSTALL_UNITS_OPTIONS)
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "InstallUnits", "(ssasa{sv})",
                  (addon, version, list(units), options))

    def remove_units(self, addon: str) -> None:
        """Stops, disables and removes the add-on's units (none: nothing
        happens; an add-on that does not exist at all is NoSuchAddon)."""
        self.call(MANAGER_PATH, MANAGER_INTERFACE, "RemoveUnits", "(s)", (addon,))

    def addon_units(self) -> List["AddonUnits"]:
        """The add-ons with units installed, by name, from one call."""
        reply = self.call(MANAGER_PATH, OBJECT_MANAGER_INTERFACE, "GetManagedObjects",
                          reply_type="(a{oa{sa{sv}}})")
        found = []
        for _path, interfaces in reply.get_child_value(0).unpack().items():
            properties = interfaces.get(ADDON_UNITS_INTERFACE)
            if properties is not None:
                found.append(AddonUnits(str(properties["Addon"]), str(properties["Version"]),
                                        list(properties["Units"]), list(properties["Enabled"])))
        return sorted(found, key=lambda addon: addon.addon)

    def enable_server(self, instance: str, template: str = "", *, now: bool = False) -> str:
        """Enables game-server INSTANCE of TEMPLATE (one of the daemon's
        server_templates; "" is the first) at boot, and with NOW starts it;
        returns its unit, e.g. 'left4me-server@1.service'."""
        return self._server("EnableServer", instance, template, now)

    def disable_server(self, instance: str, template: str = "", *, now: bool = False) -> str:
        """Disables game-server INSTANCE of TEMPLATE at boot (no error if it
        is not enabled), and with NOW stops it; returns its unit."""
        return self._server("DisableServer", instance, template, now)

    def _server(self, method: str, instance: str, template: str, now: bool) -> str:
        options = pack_options({"now": now}, SERVER_OPTIONS)
        reply = self.call(MANAGER_PATH, MANAGER_INTERFACE, method, "(ssa{sv})", (template, instance, options), "(s)")
        return str(reply.get_child_value(0).get_string())

    def jobs(self, *, owner: Optional[int] = None, state: Union[str, Collection[str], None] = None) -> List["Job"]:
        """The jobs the service knows (running ones, and ended ones until the
        configured retention removes them), oldest first, from one call.
        OWNER (a uid) and STATE (one state or several) filter them. Each
        Job's ``snapshot`` holds its properties as that call returned them."""
        reply = self.call(MANAGER_PATH, OBJECT_MANAGER_INTERFACE, "GetManagedObjects",
                          reply_type="(a{oa{sa{sv}}})")
        states = {state} if isinstance(state, str) else None if state is None else set(state)
        found = []
        for path, interfaces in reply.get_child_value(0).unpack().items():
            properties = interfaces.get(JOB_INTERFACE)
            if properties is None:
                continue
            info = JobInfo.from_properties(properties)
            if (owner is None or info.owner == owner) and (states is None or info.state in states):
                found.append(Job(self, path, snapshot=info))
        return sorted(found, key=lambda job: job.id)

    def job(self, path_or_id: Union[str, int]) -> "Job":
        """The Job at an object path or with an id; no call is made (a job
        that does not exist answers NoSuchJob on first use)."""
        if isinstance(path_or_id, int) or str(path_or_id).isdigit():
            return Job(self, JOB_PATH_PREFIX + str(int(path_or_id)))
        if not path_or_id.startswith(JOB_PATH_PREFIX) or not path_or_id[len(JOB_PATH_PREFIX):].isdigit():
            raise ValueError(f"{path_or_id!r} is neither a job id nor a path under {JOB_PATH_PREFIX}")
        return Job(self, path_or_id)


def _job_property(name: str, doc: str) -> property:
    return property(lambda job: job.get(name), doc=doc)


class _Cursor:
    """The number of the first line not yet handed over."""

    def __init__(self, next_line: int) -> None:
        self.next = next_line


class Job:
    """One build, at /org/left4me/Builder/job/<id>. Every property is read
    from the service when asked (one call each; info() gets them all).
    A job outlives restarts of the service, and stays after it ended until
    the configured retention (job_retention_sec, job_retention_count)
    removes it with its log; then every call answers NoSuchJob."""

    def __init__(self, builder: Builder, path: str, snapshot: Optional[JobInfo] = None) -> None:
        self.builder = builder
        self.path = path
        #: The job's properties when Builder.jobs() listed it; None otherwise.
        self.snapshot = snapshot

    def __repr__(self) -> str:
        return f"<Job {self.path}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    @property
    def id(self) -> int:
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
    progress = _job_property("Progress", "0..1 as last reported by left4me-progress; -1 when unknown "
                             "(follow(on_progress=...) gets each report without a call).")
    status_text = _job_property("StatusText", "The text of the last left4me-progress report; for a job systemd "
                                "refused to start (Result 'resources'), systemd's reason.")
    deadline = _job_property("Deadline", "When the service stops the build for its timeout_sec: microseconds since "
                             "the epoch (CreatedAt plus the timeout); 0 for a skipped build. It stays once the job "
                             "has ended.")
    timeout_warned = _job_property("TimeoutWarned", "True once the job warned that its timeout will stop it "
                                   "(follow(on_timeout_warning=...) is told without a call).")

    def _call(self, interface: str, method: str, signature: Optional[str] = None, args: Sequence[Any] = (),
              reply_type: Optional[str] = None, timeout: Optional[float] = _UNSET) -> GLib.Variant:
        try:
            return self.builder.call(self.path, interface, method, signature, args, reply_type, timeout)
        except BusError as error:
            # No object at the path: the job never existed, or it ended and
            # the configured retention has removed it.
            if error.name == "org.freedesktop.DBus.Error.UnknownObject":
                raise NoSuchJob(f"There is no job {self.path}; ended jobs are removed after the configured "
                                "retention.") from None
            raise

    def get(self, name: str, timeout: Optional[float] = _UNSET) -> Any:
        """One property by its D-Bus name."""
        reply = self._call(PROPERTIES_INTERFACE, "Get", "(ss)", (JOB_INTERFACE, name), "(v)", timeout)
        return reply.get_child_value(0).get_variant().unpack()

    def properties(self, timeout: Optional[float] = _UNSET) -> Dict[str, Any]:
        """Every property, by D-Bus name."""
        properties: Dict[str, Any] = self._call(PROPERTIES_INTERFACE, "GetAll", "(s)", (JOB_INTERFACE,),
                                                "(a{sv})", timeout).unpack()[0]
        return properties

    def info(self) -> JobInfo:
        """Every property, now, from one call."""
        return JobInfo.from_properties(self.properties())

    def outcome(self) -> Result:
        """The Result now (its state may still be starting or running)."""
        p = self.properties()
        return Result(self.id, p["State"], p["Result"], p["ExitStatus"], p["StatusText"])

    def cancel(self) -> None:
        """SIGTERM, SIGKILL after a second: the job ends cancelled within two.
        Cancelling an ended job changes nothing."""
        self.builder.cancel(self)

    def read_log(self, from_line: int = 0, max_lines: int = READ_PAGE,
                 timeout: Optional[float] = _UNSET) -> Tuple[int, List[str]]:
        """One page of the stored log: (next_line, lines), the lines as Log
        gives them (a stderr line keeps its mark; see LogLine.parse)."""
        reply = self._call(JOB_INTERFACE, "ReadLog", "(tu)", (from_line, max_lines), "(tas)", timeout)
        return reply.get_child_value(0).get_uint64(), reply.get_child_value(1).get_strv()

    def lines(self, from_line: int = 0, *, restart_timeout: Optional[float] = None,
              on_timeout_warning: OnTimeoutWarning = None) -> Iterator[LogLine]:
        """Every log line from FROM_LINE on, as a LogLine (number, stream,
        text), live, until the job has ended and its last line is delivered.
        Works the same on a job that has already ended. Close the iterator
        (or let it go) to stop early: the build goes on.

        A restart of the service is no gap, and ON_TIMEOUT_WARNING is as in
        batches()."""
        for first, batch in self.batches(from_line, restart_timeout=restart_timeout,
                                          on_timeout_warning=on_timeout_warning):
            yield from log_lines(first, batch)

    def batches(self, from_line: int = 0, tick: Optional[float] = None, *,
                restart_timeout: Optional[float] = None, on_timeout_warning: OnTimeoutWarning = None) -> "Batches":
        """lines() in the batches they come in, fast: (first_line, lines),
        the lines as Log gives them (a stderr line keeps its mark). With TICK
        (seconds), also yields (next_line, []) whenever TICK passes without
        a line, so that the caller gets control back.

        No gap and no duplicate: the signals are subscribed to first, so
        anything logged after the replay's ReadLog calls arrives as a Log
        signal; the replay covers what came before. A signal's lines that
        the replay already delivered are dropped, and a signal that starts
        past the last line delivered is preceded by a ReadLog of the gap.
        The end is Finished (emitted after the last Log), or a terminal State
        seen right after subscribing; a last ReadLog collects whatever came
        after the last signal handled.

        When the service leaves the bus (a restart, a crash, an upgrade), the
        build goes on. So does the stream: it calls the service, which bus
        activation (or systemd's Restart=) brings back, and replays from the
        next line. If the service is not back within RESTART_TIMEOUT seconds
        (default: the Builder's), ServiceLost says so. Any BuilderError
        raised here carries ``next_line`` (where to resume) and ``job_id``.

        ON_TIMEOUT_WARNING(deadline), if given, is called once, between the
        batches, when the job warns that its timeout_sec will stop it at
        DEADLINE (microseconds since the epoch, the Deadline property; by
        default once 75% of the timeout has passed); at once, before the
        replay, if it had warned before and still runs. It is not called
        again after a restart of the service, nor for a job that ends first.
        """
        if from_line < 0:
            raise ValueError("from_line must be >= 0")
        return self._stream(from_line, tick, True, restart_timeout, on_timeout_warning)

    def _stream(self, from_line: int, tick: Optional[float], with_lines: bool,
                restart_timeout: Optional[float], on_timeout_warning: OnTimeoutWarning = None) -> "Batches":
        builder = self.builder
        patience = builder.restart_timeout if restart_timeout is None else restart_timeout
        cursor = _Cursor(from_line)
        # Where we stand with the service. Every state and line comes from
        # a call or a signal; a sync (State, then ReadLog to the end) is
        # due at the start, after the service left, and after the end.
        sync_due, ended = True, False
        lost_until: Optional[float] = None  # while the service is away: how long we wait for it
        retry_at, backoff = 0.0, _RETRY_FIRST
        tick_at = None if tick is None else time.monotonic() + tick
        tick_seconds = tick or 0.0
        last_failure: Optional[BuilderError] = None
        members = ("Log", "Finished") if with_lines else ("Finished",)
        # Told once, whether by the signal or, for a client late or back
        # after a restart of the service, by the property.
        warned = on_timeout_warning is None
        if not warned:
            members += ("TimeoutWarning",)
        with JobEvents(builder, self.path, members) as events:
            try:
                while True:
                    now = time.monotonic()
                    if (sync_due or ended) and now >= retry_at:
                        # The calls of a sync may not outlast the wait for the service.
                        timeout = _UNSET if lost_until is None else _shorter(builder.timeout, lost_until - now)
                        try:
                            if not ended and not warned:
                                p = self.properties(timeout)
                                ended = p["State"] in TERMINAL_STATES
                                if p.get("TimeoutWarned") and not ended and on_timeout_warning is not None:
                                    warned = True
                                    on_timeout_warning(p["Deadline"])
                            elif not ended:
                                # After subscribing: a Finished that comes
                                # later arrives as a signal.
                                ended = self.get("State", timeout) in TERMINAL_STATES
                            if with_lines:
                                yield from self._replay(cursor, timeout)
                        except BusError as error:
                            if not _absent(error):
                                raise
                            last_failure = error
                            lost_until = lost_until or now + patience
                            if time.monotonic() >= lost_until:
                                raise self._lost(patience, cursor.next) from last_failure
                            retry_at, backoff = time.monotonic() + backoff, min(backoff * 2, _RETRY_MOST)
                            continue
                        if ended:
                            return
                        sync_due, lost_until, backoff = False, None, _RETRY_FIRST
                        continue
                    wake = [t for t in (tick_at, retry_at if sync_due or ended else None) if t is not None]
                    event = events.get(max(0.0, min(wake) - now) if wake else None)
                    if event is None:
                        if tick_at is not None and time.monotonic() >= tick_at:
                            tick_at = time.monotonic() + tick_seconds
                            yield cursor.next, []
                    elif event is FINISHED:
                        ended = True
                    elif event is VANISHED:
                        # Then call: bus activation starts it if nothing else does.
                        sync_due, retry_at = True, now + _RESTART_GRACE
                        lost_until = lost_until or now + patience
                    elif event is APPEARED:
                        retry_at = 0.0
                    elif isinstance(event, TimeoutWarning):
                        if not warned and not ended and on_timeout_warning is not None:
                            warned = True
                            on_timeout_warning(event.deadline)
                    elif not sync_due and not isinstance(event, Mark):
                        first, batch = event
                        fresh = merge(cursor.next, first, batch)
                        if fresh is None:  # lines lost on the way: the stored log has them
                            try:
                                yield from self._replay(cursor, _UNSET)
                            except BusError as error:
                                if not _absent(error):
                                    raise
                                last_failure = error
                                sync_due, retry_at = True, 0.0
                                lost_until = lost_until or now + patience
                                continue
                            fresh = merge(cursor.next, first, batch)
                            if fresh is None:  # ReadLog must cover every line signalled
                                raise BuilderError(f"{self.path}: lines {cursor.next} to {first - 1} are missing "
                                                   "from the stored log")
                        if fresh:
                            first = cursor.next
                            cursor.next += len(fresh)
                            if tick_at is not None:
                                tick_at = time.monotonic() + tick_seconds
                            yield first, fresh
                    # A Log while a sync is due: the sync's replay covers it.
            except BuilderError as error:
                error.job_id = self.id
                if error.next_line is None:
                    error.next_line = cursor.next
                raise

    def _lost(self, patience: float, next_line: int) -> ServiceLost:
        error = ServiceLost(f"left4me-builderd left the bus while job {self.id} ran and did not come back within "
                            f"{patience:g} s; the build may go on: follow it again from line {next_line}")
        error.next_line = next_line
        return error

    def _replay(self, cursor: _Cursor, timeout: Optional[float]) -> "Batches":
        """Yields ReadLog pages from the cursor until one is empty."""
        while True:
            after, page = self.read_log(cursor.next, READ_PAGE, timeout)
            if not page:
                return
            first = cursor.next
            cursor.next = after
            yield first, page

    def wait(self, timeout: Optional[float] = None, *, restart_timeout: Optional[float] = None) -> Result:
        """Waits for the job to end; returns its Result. Raises TimeoutError
        after TIMEOUT seconds (None: no limit). Survives restarts of the
        service as batches() does."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with contextlib.closing(self._stream(0, timeout, False, restart_timeout)) as ticks:
            for _ in ticks:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{self.path} did not finish within {timeout:g} s")
        return self.outcome()

    def follow(self, on_line: Optional[Callable[[str], object]] = None, *,
               on_stderr: Optional[Callable[[str], object]] = None,
               on_lines: Optional[Callable[[List[LogLine]], object]] = None,
               on_progress: Optional[Callable[[float, str], object]] = None,
               hide_progress: bool = False,
               should_cancel: Optional[Callable[[], bool]] = None,
               should_detach: Optional[Callable[[], bool]] = None,
               poll_interval: float = 0.2, from_line: int = 0,
               restart_timeout: Optional[float] = None,
               on_timeout_warning: OnTimeoutWarning = None) -> Result:
        """The job-worker shape: hands over every line from FROM_LINE on, in
        order, until the job ends, and returns its Result.

        Lines go either one at a time, as text without the stream mark, to
        ON_LINE (stdout, and stderr unless ON_STDERR is given) and
        ON_STDERR; or a batch at a time to ON_LINES, as LogLines: each
        batch is one Log signal's lines (or a ReadLog page), so one database
        insert per batch; key rows on (job id, LogLine.number) to make the
        insert safe to repeat.

        ON_PROGRESS(fraction, text) gets each progress report
        (`left4me-progress PERCENT|- TEXT` in the script) as its marker line
        passes, by the daemon's rules (see parse_progress), replayed lines
        included; FRACTION is 0..1, -1 when unknown. With HIDE_PROGRESS,
        marker lines go only there, not to ON_LINE or ON_LINES (their numbers
        are then missing from what those get: resume from the last number
        seen plus one, not from a count of rows).

        ON_TIMEOUT_WARNING(deadline) is told once, in order with the lines,
        that the job will be stopped at DEADLINE (microseconds since the
        epoch) for running past its timeout_sec (see batches()).

        SHOULD_CANCEL and SHOULD_DETACH, if given, are called about every
        POLL_INTERVAL seconds, whether lines come or not.
        * Once SHOULD_CANCEL returns true the job is cancelled, and following
          goes on until it has ended (within two seconds), so the last lines
          and the cancelled Result are still delivered.
        * Once SHOULD_DETACH returns true (``threading.Event().is_set`` will
          do), follow() returns the Result as it stands, without cancelling:
          the build goes on, and follow(from_line=...) or lines() on
          ``builder.job(job_id)`` picks it up again, from any process, until
          the retention removes the ended job.

        If a callback raises, follow() stops and the exception propagates;
        the build goes on, followed by nobody (cancel it, or follow it again
        from the next line). A restart of the service is no gap (see
        batches()); a BuilderError raised here carries ``next_line``."""
        if on_lines is not None and (on_line is not None or on_stderr is not None):
            raise TypeError("give on_lines, or on_line and on_stderr, not both")
        to_stdout = on_line
        to_stderr = on_stderr if on_stderr is not None else on_line
        polling = should_cancel is not None or should_detach is not None
        cancelled = False
        next_poll = time.monotonic() + poll_interval
        with contextlib.closing(self.batches(from_line, poll_interval if polling else None,
                                             restart_timeout=restart_timeout,
                                             on_timeout_warning=on_timeout_warning)) as batches:
            for first, batch in batches:
                if batch:
                    if on_progress is not None or hide_progress:
                        batch, numbers = _progress(first, batch, on_progress, hide_progress)
                    else:
                        numbers = None
                    if on_lines is not None:
                        if batch:
                            on_lines(log_lines(first, batch) if numbers is None else
                                     [LogLine.parse(n, line) for n, line in zip(numbers, batch)])
                    else:
                        _deliver(batch, to_stdout, to_stderr)
                if polling and time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + poll_interval
                    if should_detach is not None and should_detach():
                        break
                    if should_cancel is not None and not cancelled and should_cancel():
                        cancelled = self._try_cancel()
        return self.outcome()

    def _try_cancel(self) -> bool:
        """Cancels; False if the service could not be reached (the next poll
        tries again, once it is back)."""
        try:
            self.cancel()
        except BusError as error:
            if not _absent(error):
                raise
            return False
        return True


# What a call to a service that is not there (or not yet, or no longer)
# answers: the bus's own errors while it has no owner or activation fails
# (systemd's errors when it refuses to start the unit), the owner's
# disconnection before the reply, and a timeout.
_ABSENT = frozenset({
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoReply",
})
_ABSENT_PREFIXES = ("org.freedesktop.DBus.Error.Spawn.", "org.freedesktop.systemd1.")


def _absent(error: BusError) -> bool:
    """True if ERROR says the service is away, rather than what it answered."""
    if isinstance(error, Disconnected):
        return False
    if isinstance(error, CallTimeout):
        return True
    name = error.name or ""
    return name in _ABSENT or name.startswith(_ABSENT_PREFIXES)


def _shorter(timeout: Optional[float], left: float) -> float:
    return max(0.001, left if timeout is None else min(timeout, left))


def _deliver(batch: List[str], on_stdout: Optional[Callable[[str], object]],
             on_stderr: Optional[Callable[[str], object]]) -> None:
    for line in batch:
        if line.startswith("\x1e"):
            if on_stderr is not None:
                on_stderr(line[1:])
        elif on_stdout is not None:
            on_stdout(line)


def _progress(first: int, batch: List[str], on_progress: Optional[Callable[[float, str], object]],
              hide: bool) -> Tuple[List[str], Optional[List[int]]]:
    """Reports the progress lines of BATCH; with HIDE, returns the rest and
    their numbers (None when nothing was hidden)."""
    kept: List[str] = []
    numbers: List[int] = []
    hidden = False
    for number, line in enumerate(batch, first):
        report = parse_progress(line) if line.startswith("::") else None
        if report is not None:
            if on_progress is not None:
                on_progress(*report)
            if hide:
                hidden = True
                continue
        kept.append(line)
        numbers.append(number)
    return (kept, numbers) if hidden else (batch, None)
