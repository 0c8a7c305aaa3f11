"""One exception class per org.left4me.Builder.Error.* name (the list in
src/bus/names.hpp), so that callers catch what they can act on."""

from gi.repository import Gio

ERROR_PREFIX = "org.left4me.Builder.Error."


class BuilderError(Exception):
    """Any failed call. ``name`` is the D-Bus error name; ``str()`` is the
    service's message, a sentence naming the argument and the rule."""

    name = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The class name is the error's last component: one place to add one.
        if "name" not in cls.__dict__:
            cls.name = ERROR_PREFIX + cls.__name__

    def __init__(self, message, name=None):
        super().__init__(message)
        if name is not None:
            self.name = name


class NotAuthorized(BuilderError):
    """polkit refused the call."""


class InteractiveAuthorizationRequired(BuilderError):
    """polkit would ask for a password, but the call did not allow it
    (``Builder(interactive=True)`` does)."""


class AuthorizationUnavailable(BuilderError):
    """polkit is missing, failed or did not answer in time: refused."""


class InvalidArgument(BuilderError):
    """An argument or option broke a rule; the message names it."""


class Busy(BuilderError):
    """The overlay is being built, or the mount is in use."""


class NoSuchJob(BuilderError):
    """No such job (ended jobs are removed after the configured retention)."""


class NotSupported(BuilderError):
    """The host cannot do this."""


class LimitsExceeded(BuilderError):
    """Too many running builds or mounts."""


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


class Failed(BuilderError):
    """The operation failed; the message names the step."""


class BusError(BuilderError):
    """The call did not reach the service or got no answer from it: the name
    has no owner and cannot be activated, the bus policy refused it, the call
    timed out, the connection closed. ``name`` is the D-Bus error name (GIO's
    encoding for a local failure)."""

    name = "org.freedesktop.DBus.Error.Failed"


ERRORS = {cls.name: cls for cls in BuilderError.__subclasses__() if cls is not BusError}


def from_gerror(error):
    """The exception for a GLib.Error raised by a Gio D-Bus call."""
    name = Gio.DBusError.get_remote_error(error)
    message = error.message
    if name is None:
        return BusError(message, Gio.DBusError.encode_gerror(error))
    # Gio.DBusError.strip_remote_error edits a C copy of the error under
    # PyGObject, not error.message, so the prefix it would strip is cut here.
    prefix = f"GDBus.Error:{name}: "
    if message.startswith(prefix):
        message = message[len(prefix):]
    if name in ERRORS:
        return ERRORS[name](message)
    if name.startswith(ERROR_PREFIX):
        return BuilderError(message, name)  # one this client does not know yet
    return BusError(message, name)
