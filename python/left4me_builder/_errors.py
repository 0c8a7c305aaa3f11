"""The exceptions.

* One class per org.left4me.Builder.Error.* name (the list in
  src/bus/names.hpp), all BuilderError, so that callers catch what they can
  act on; the three worth trying again later share the base Retryable.
* BusError for a call that did not reach the service or got no answer, with
  two kinds a caller handles differently: Disconnected (also a builtin
  ConnectionError) and CallTimeout (also a builtin TimeoutError).
  ServiceLost (also a ConnectionError) ends a stream whose service left the
  bus and did not come back.
* BuildError (not a BuilderError: every call succeeded) for a build that
  ran and did not succeed, as run_sandboxed_script() raises it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional, Type

from gi.repository import Gio, GLib

if TYPE_CHECKING:
    from ._client import Result

ERROR_PREFIX = "org.left4me.Builder.Error."


class BuilderError(Exception):
    """Any failed call. ``name`` is the D-Bus error name; ``str()`` is the
    service's message, a sentence naming the argument and the rule.

    Raised from lines(), batches(), follow() or wait(), it also carries
    ``job_id`` and ``next_line``: the number of the first line not yet
    delivered, where a later ``lines(from_line=...)`` resumes."""

    name: Optional[str] = None
    job_id: Optional[int] = None
    next_line: Optional[int] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # A service error's class name is the name's last component: one
        # place to add one. Classes that are not a service error set theirs.
        if "name" not in cls.__dict__:
            cls.name = ERROR_PREFIX + cls.__name__

    def __init__(self, message: str, name: Optional[str] = None) -> None:
        super().__init__(message)
        if name is not None:
            self.name = name


class Retryable(BuilderError):
    """The service could not do it now, and may later: the same call is
    worth repeating after a pause (Busy, LimitsExceeded,
    AuthorizationUnavailable). No other error is: the rest say the request
    is wrong, not allowed, or of unknown outcome."""

    name = None


class NotAuthorized(BuilderError):
    """polkit refused the call."""


class InteractiveAuthorizationRequired(BuilderError):
    """polkit would ask for a password, but the call did not allow it
    (``Builder(interactive=True)`` does)."""


class AuthorizationUnavailable(Retryable):
    """polkit is missing, failed or did not answer in time: refused, but
    a later try may get an answer."""


class InvalidArgument(BuilderError):
    """An argument or option broke a rule; the message names it."""


class Busy(Retryable):
    """The overlay is being built, or the mount is in use: try again once
    that has ended."""


class NoSuchJob(BuilderError):
    """No such job (ended jobs are removed after the configured retention,
    job_retention_sec and job_retention_count)."""


class NotSupported(BuilderError):
    """The host cannot do this."""


class LimitsExceeded(Retryable):
    """Too many running builds or mounts: try again once some have ended."""


class LimitsUnenforceable(BuilderError):
    """The host's cgroups cannot enforce the build's limits."""


class UnsupportedFilesystem(BuilderError):
    """The overlays root cannot be idmapped (overlayfs, for one)."""


class AlreadyMounted(BuilderError):
    """The instance is mounted with other layers or options."""


class NotMounted(BuilderError):
    """The instance is not mounted."""


class CapabilityNotAllowed(BuilderError):
    """A capability outside the configured allowlist."""


class UnitNotAllowed(BuilderError):
    """An add-on's unit would run as root, as a user outside unit_users,
    with privileges, or reach beyond the add-on's own units; the message
    names the unit and the setting."""


class NoSuchAddon(BuilderError):
    """The add-on has no units installed and does not exist."""


class Failed(BuilderError):
    """The operation failed; the message names the step."""


class BusError(BuilderError):
    """The call did not reach the service or got no answer from it: the name
    has no owner and cannot be activated, the bus policy refused it, the call
    timed out, the connection closed. ``name`` is the D-Bus error name."""

    name = "org.freedesktop.DBus.Error.Failed"


class Disconnected(BusError, ConnectionError):
    """There is no connection to the bus: it could not be made, the bus went
    away, or Builder.close() closed it. Every call fails so at once, and
    every wait ends so within about a second. A new Builder may connect."""

    name = "org.freedesktop.DBus.Error.Disconnected"


class CallTimeout(BusError, TimeoutError):
    """No answer within the Builder's timeout. Whether the call took effect
    is unknown (a StartBuild may have started a job): look before repeating."""

    name = "org.freedesktop.DBus.Error.Timeout"


class ServiceLost(BusError, ConnectionError):
    """The service left the bus while a stream or wait followed a job, and
    did not come back (bus activation included) within the Builder's
    restart_timeout. The build may still run: ``next_line`` says where to
    resume, with the same Job, once the service is back."""

    name = "org.freedesktop.DBus.Error.NameHasNoOwner"


class BuildError(Exception):
    """A build did not succeed: it failed, was cancelled (BuildCancelled),
    or could not be started or followed to its end.

    ``result`` is the job's Result when it ended (else None); ``job_id`` is
    set once the job exists; ``exit_status`` and ``status_text`` come from
    the result (None and "" without one: systemd's reason for a build it
    refused to start, Result 'resources', is in ``status_text``). When a
    call failed, the BuilderError is the ``__cause__``, and ``retryable``
    says whether it was a Retryable one."""

    def __init__(self, message: str, result: Optional["Result"] = None, job_id: Optional[int] = None) -> None:
        super().__init__(message)
        self.result = result
        self.job_id = job_id if job_id is not None or result is None else result.job_id

    @property
    def exit_status(self) -> Optional[int]:
        return None if self.result is None else self.result.exit_status

    @property
    def status_text(self) -> str:
        return "" if self.result is None else self.result.status_text

    @property
    def retryable(self) -> bool:
        return isinstance(self.__cause__, Retryable)


class BuildCancelled(BuildError):
    """The build was cancelled (should_cancel said so, or someone else
    cancelled it); ``result.state`` is 'cancelled'."""


def _service_errors(cls: Type[BuilderError]) -> Dict[str, Type[BuilderError]]:
    found = {}
    for sub in cls.__subclasses__():
        if sub.name is not None and sub.name.startswith(ERROR_PREFIX):
            found[sub.name] = sub
        found.update(_service_errors(sub))
    return found


ERRORS = _service_errors(BuilderError)

# Local failures GIO reports as G_IO_ERROR codes, and the D-Bus names
# other peers use for the same; everything else is a plain BusError.
_IO_ERRORS = {Gio.IOErrorEnum.CLOSED: Disconnected, Gio.IOErrorEnum.TIMED_OUT: CallTimeout}
_REMOTE_ERRORS = {
    "org.freedesktop.DBus.Error.Disconnected": Disconnected,
    "org.freedesktop.DBus.Error.Timeout": CallTimeout,
    "org.freedesktop.DBus.Error.TimedOut": CallTimeout,
}


def from_gerror(error: GLib.Error) -> BuilderError:
    """The exception for a GLib.Error raised by a Gio D-Bus call."""
    name = Gio.DBusError.get_remote_error(error)
    message = error.message
    if name is None:
        if error.domain == GLib.quark_to_string(Gio.io_error_quark()) and error.code in _IO_ERRORS:
            return _IO_ERRORS[error.code](message)
        return BusError(message, Gio.DBusError.encode_gerror(error))
    # Gio.DBusError.strip_remote_error edits a C copy of the error under
    # PyGObject, not error.message, so the prefix it would strip is cut here.
    prefix = f"GDBus.Error:{name}: "
    if message.startswith(prefix):
        message = message[len(prefix):]
    if name in ERRORS:
        return ERRORS[name](message)
    if name in _REMOTE_ERRORS:
        return _REMOTE_ERRORS[name](message)
    if name.startswith(ERROR_PREFIX):
        return BuilderError(message, name)  # one this client does not know yet
    return BusError(message, name)
