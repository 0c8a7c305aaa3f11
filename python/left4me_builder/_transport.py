"""The connection a Builder talks through.

This host's system bus; with HOST, the system bus of another host; with
MACHINE, the system bus of a local container. HOST and MACHINE have the
meaning and spelling of systemd's -H and -M (systemctl, busctl,
left4me-builderctl), and the same transport: a systemd-stdio-bridge
on the other side of a socket pair, reached with `ssh -xT [-p PORT] --
[USER@]HOST systemd-stdio-bridge` as sd_bus_open_system_remote() runs it,
or started here as `systemd-stdio-bridge --machine=MACHINE` (which enters
the container as sd_bus_open_system_machine() does; root only). Gio itself
has neither transport.
"""

import re
import socket
import subprocess
import threading
from typing import Any, List, Optional

from gi.repository import Gio, GLib

from ._errors import from_gerror

_FLAGS = Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION
# [USER@]HOST[:PORT], without the characters sd-bus refuses in a host.
_HOST = re.compile(r"(?P<host>[^\s'\"\\:-][^\s'\"\\:]*)(?::(?P<port>[0-9]+))?")
_MACHINE = re.compile(r"\.host|[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def bridge_command(host: Optional[str] = None, machine: Optional[str] = None) -> List[str]:
    """The argv of the bridge process for HOST or MACHINE. Raises ValueError
    for a name sd-bus would refuse, or for both."""
    if host is not None and machine is not None:
        raise ValueError("give host or machine, not both")
    if host is not None:
        match = _HOST.fullmatch(host)
        if match is None:
            raise ValueError(f"host takes [USER@]HOST[:PORT], not {host!r}")
        port = ["-p", match["port"]] if match["port"] else []
        return ["ssh", "-xT", *port, "--", match["host"], "systemd-stdio-bridge"]
    if _MACHINE.fullmatch(machine or "") is None:
        raise ValueError(f"machine takes the name of a local container, not {machine!r}")
    return ["systemd-stdio-bridge", f"--machine={machine}"]


def connect(bus_address: Optional[str] = None, host: Optional[str] = None, machine: Optional[str] = None) -> Any:
    """A private Gio.DBusConnection (never Gio's shared singleton) to the
    system bus at BUS_ADDRESS (default: this host's, DBUS_SYSTEM_BUS_ADDRESS
    honoured), or on HOST or in MACHINE. Raises BusError if it cannot."""
    try:
        if host is None and machine is None:
            address = bus_address or Gio.dbus_address_get_for_bus_sync(Gio.BusType.SYSTEM, None)
            return Gio.DBusConnection.new_for_address_sync(address, _FLAGS, None, None)
        if bus_address is not None:
            raise ValueError("give bus_address, host or machine, not more than one")
        return _connect_bridge(bridge_command(host, machine))
    except GLib.Error as error:
        raise from_gerror(error) from None


def _connect_bridge(argv: List[str]) -> Any:
    # As sd-bus's unixexec: transport: one end of a socket pair is the
    # bridge's stdin and stdout (ssh's stderr stays ours, for its messages).
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with theirs:
        bridge = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(), start_new_session=False)
    # The bridge exits when the connection closes; reap it then.
    threading.Thread(target=bridge.wait, name="left4me-bridge-reaper", daemon=True).start()
    stream = Gio.Socket.new_from_fd(ours.detach()).connection_factory_create_connection()
    return Gio.DBusConnection.new_sync(stream, None, _FLAGS, None, None)
