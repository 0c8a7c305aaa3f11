"""A private dbus-daemon per test, on which org.left4me.Builder is the
stand-in service (standin.py), started by bus activation like the real one.
No root, no systemd: the client's own behaviour (streaming, restarts,
cancel, detach, closed connections, forged signals) against a service that
speaks the XML's API."""

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from gi.repository import Gio, GLib

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin.py")

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>{services}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """The dbus-daemon, the stand-in's state, and ways to be unkind to both."""

    def __init__(self, root):
        self.root = root
        self.state = os.path.join(root, "state")
        services = os.path.join(root, "services")
        os.makedirs(self.state)
        os.makedirs(services)
        with open(os.path.join(services, "org.left4me.Builder.service"), "w") as f:
            f.write(f"[D-BUS Service]\nName=org.left4me.Builder\nExec={sys.executable} {STANDIN} {self.state}\n")
        config = os.path.join(root, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(socket=os.path.join(root, "bus"), services=services))
        with open(os.path.join(root, "bus.log"), "w") as log:  # the bus's and the stand-in's complaints
            self.daemon = subprocess.Popen(["dbus-daemon", "--nofork", "--config-file", config, "--print-address=1"],
                                           stdout=subprocess.PIPE, stderr=log, text=True)
        self.address = self.daemon.stdout.readline().strip()
        self._control = None

    def control(self):
        """A connection of the test's own (for asking the bus who owns what)."""
        if self._control is None:
            self._control = connect(self.address)
        return self._control

    def service_pid(self):
        """The stand-in's pid, or None while the name has no owner."""
        try:
            owner = self.bus_call("GetNameOwner", "org.left4me.Builder")
            return self.bus_call("GetConnectionUnixProcessID", owner)
        except GLib.Error:  # no owner, or it left between the two calls
            return None

    def bus_call(self, method, name):
        return self.control().call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                        method, GLib.Variant("(s)", (name,)), None, 0, -1, None).unpack()[0]

    def start_service(self):
        self.control().call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                 "StartServiceByName", GLib.Variant("(su)", ("org.left4me.Builder", 0)), None, 0,
                                 -1, None)
        return self.service_pid()

    def kill_service(self):
        """kill -9 the stand-in; returns once the bus has seen it go."""
        pid = self.service_pid()
        assert pid is not None, "the stand-in is not running"
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.service_pid() is None, "the name to lose its owner")
        return pid

    def control_file(self, name, present=True):
        path = os.path.join(self.state, name)
        if present:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)

    def calls(self):
        try:
            return open(os.path.join(self.state, "calls")).read().splitlines()
        except FileNotFoundError:
            return []

    def forget_calls(self):
        self.control_file("calls", present=False)

    def kill_bus(self):
        self.daemon.kill()
        self.daemon.wait()

    def close(self):
        if self._control is not None:
            self._control.close_sync(None)
        pids = []
        pid_file = os.path.join(self.state, "service.pid")
        if os.path.exists(pid_file):
            pids.append(("service", int(open(pid_file).read())))
        jobs = os.path.join(self.state, "jobs")
        for job in os.listdir(jobs) if os.path.isdir(jobs) else []:
            runner = os.path.join(jobs, job, "runner.pid")
            if os.path.exists(runner) and not os.path.exists(os.path.join(jobs, job, "status.json")):
                pids.append(("runner", int(open(runner).read())))
        for kind, pid in pids:
            # A runner leads its session; bash leads another, named in no
            # file: SIGTERM makes the runner stop it.
            try:
                os.kill(pid, signal.SIGTERM if kind == "runner" else signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Before the directory goes: a runner writes its status as it ends.
        for _, pid in pids:
            wait_for(lambda: not alive(pid), f"process {pid} to end")
        if self.daemon.poll() is None:
            self.kill_bus()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def connect(address):
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)


def wait_for(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def bus():
    with tempfile.TemporaryDirectory(prefix="left4me-client-") as root:
        private = PrivateBus(root)
        try:
            yield private
        finally:
            private.close()
