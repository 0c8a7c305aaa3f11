"""A job's signals and the service's comings and goings, queued in a
GLib.MainContext of our own, with waits that end when the connection closes."""

from __future__ import annotations

import collections
import contextlib
import time
from typing import TYPE_CHECKING, Deque, Iterator, List, Optional, Sequence, Tuple, Union

from gi.repository import Gio, GLib

if TYPE_CHECKING:
    from ._client import Builder

BUS_NAME = "org.left4me.Builder"
JOB_INTERFACE = "org.left4me.Builder.Job"

# How long a wait may go without noticing that the connection closed
# under it. GDBus tells a closed connection only in the main context the
# connection was made in, which nobody may be iterating; so each wait
# looks itself, at least this often (Builder.close() also wakes it at once).
CLOSED_CHECK_SECONDS = 0.25


class Mark:
    """An event that is not a batch of lines."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


class TimeoutWarning(Mark):
    """The job's TimeoutWarning signal: it will be stopped at DEADLINE
    (microseconds since the epoch)."""

    def __init__(self, deadline: int) -> None:
        super().__init__("the job's TimeoutWarning signal")
        self.deadline = deadline


FINISHED = Mark("the job's Finished signal")
VANISHED = Mark("the service's name has no owner: it exited, crashed or was stopped")
APPEARED = Mark("the service's name has an owner again")

Event = Union[Tuple[int, List[str]], Mark]


@contextlib.contextmanager
def thread_default(context: GLib.MainContext) -> Iterator[None]:
    context.push_thread_default()
    try:
        yield
    finally:
        context.pop_thread_default()


class JobEvents:
    """A job's signals, queued in a MainContext of our own.

    GDBus delivers a subscription's signals in the thread-default context of
    the moment it was made; pushing a private one around signal_subscribe
    means no global main loop is needed, and nothing else iterating any
    context (another thread, another stream, a GUI) can steal or delay them.
    The queue fills only while we iterate the context.

    Each subscription names org.left4me.Builder as its sender, on a message
    bus connection: GDBus then delivers only signals whose sender is the
    unique name that owns it now (it follows NameOwnerChanged itself), so a
    signal another client sends us directly is dropped (CVE-2024-34397),
    and a restarted service's signals are delivered once it owns the name."""

    def __init__(self, builder: "Builder", path: str, members: Sequence[str]) -> None:
        self._builder = builder
        self._bus = builder._bus
        self._context = GLib.MainContext.new()
        self._queue: Deque[Event] = collections.deque()
        self._subscriptions: list[int] = []
        self._watch: Optional[int] = None
        with thread_default(self._context):
            for member in members:
                self._subscriptions.append(self._bus.signal_subscribe(
                    BUS_NAME, JOB_INTERFACE, member, path, None, Gio.DBusSignalFlags.NONE, self._on_job_signal))
            # If the service goes away, Finished may never come. The first
            # report is the owner now (or none); then each change.
            self._watch = Gio.bus_watch_name_on_connection(
                self._bus, BUS_NAME, Gio.BusNameWatcherFlags.NONE,
                lambda *_: self._queue.append(APPEARED), lambda *_: self._queue.append(VANISHED))
        builder._add_waiter(self._context)

    def _on_job_signal(self, _bus: Gio.DBusConnection, _sender: str, _path: str, _interface: str, member: str,
                       parameters: GLib.Variant) -> None:
        if member == "Log":
            # get_strv converts the whole array in C; unpack() would walk it in Python.
            self._queue.append((parameters.get_child_value(0).get_uint64(),
                                parameters.get_child_value(1).get_strv()))
        elif member == "Finished":
            self._queue.append(FINISHED)
        elif member == "TimeoutWarning":
            self._queue.append(TimeoutWarning(parameters.get_child_value(0).get_uint64()))

    def get(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event: (first_line, lines), FINISHED, a TimeoutWarning,
        VANISHED or APPEARED; None if TIMEOUT seconds pass without one (None: wait for
        ever). Raises Disconnected once the connection is closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        context = self._context
        while not self._queue and context.iteration(False):
            pass
        while not self._queue:
            self._builder._check_open()
            left = CLOSED_CHECK_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            self._iterate(min(left, CLOSED_CHECK_SECONDS))
        return self._queue.popleft()

    def _iterate(self, seconds: float) -> None:
        """Iterates our context until an event is queued, SECONDS pass, or
        Builder.close() wakes it."""
        expired = []
        source = GLib.timeout_source_new(max(1, int(seconds * 1000)))
        source.set_callback(lambda *_: expired.append(True))
        source.attach(self._context)
        try:
            while not self._queue and not expired and not self._builder.closed:
                self._context.iteration(True)
        finally:
            source.destroy()

    def close(self) -> None:
        # GDBus hands the callbacks' destroy notifies and any signal still
        # queued to our context; the drain runs them, so nothing stays
        # referenced from a context that will never run again.
        self._builder._remove_waiter(self._context)
        with thread_default(self._context):
            for subscription in self._subscriptions:
                self._bus.signal_unsubscribe(subscription)
            if self._watch is not None:
                Gio.bus_unwatch_name(self._watch)
        self._subscriptions = []
        self._watch = None
        while self._context.iteration(False):
            pass
        self._queue.clear()

    def __enter__(self) -> "JobEvents":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
