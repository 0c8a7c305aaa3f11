#!/usr/bin/python3
"""A stand-in for left4me-builderd, for testing the Python client without
root: a test double, never a replacement for the end-to-end tests.

    standin.py STATE_DIR        (bus-activated on a private dbus-daemon)

It serves the interfaces of dbus/org.left4me.Builder.xml as GDBus parsed
them from that file, so a call whose arguments do not match the XML is
refused as the real service's generated adaptor refuses it, and every
reply, property and signal it sends is checked against the XML too.

What it does, kept to what the client relies on:
* StartBuild runs the script with bash, through runner.py, in a process of
  its own that outlives the stand-in; stdout and stderr lines go to one log
  file, stderr lines marked with 0x1E. It watches the log, emits Log (line
  numbers contiguous, at most 8192 lines each), then PropertiesChanged and
  Finished after the last line; ReadLog gives only lines already signalled.
* Jobs live in STATE_DIR/jobs/<id>/ and survive the stand-in: a new one
  (bus activation on the next call) republishes them, follows running
  builds on, and owns the name last.
* Its Deadline is timeout_sec (default 3600, or the seconds, fractions
  allowed, in STATE_DIR/default-timeout-sec) after its start; once 75% of
  that has passed, a running build warns (PropertiesChanged TimeoutWarned,
  then TimeoutWarning), once, across restarts (STATE_DIR/jobs/<id>/warned).
  It is not stopped at the deadline.
* Cancel ends the build cancelled. Busy for a second build of one overlay.
  Mount, Unmount and ApplyCaps answer NotSupported; EnableServer and
  DisableServer answer the instance's unit and change nothing.
* Controls for the tests, as files in STATE_DIR: `refuse-start` (exit at
  once, so activation fails), `hang` (answer no call). Every call is
  appended to STATE_DIR/calls as "Interface.Member path", and the options
  of a call with an a{sv} to STATE_DIR/options as a JSON line
  {"method": Member, "options": {key: the D-Bus type its variant held}}.
Progress and StatusText are not derived from the log (they stay -1 and "");
the client's progress parsing is tested against the daemon's own rules.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

from gi.repository import Gio, GLib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api  # noqa: E402

BUS_NAME = "org.left4me.Builder"
MANAGER_PATH = "/org/left4me/Builder"
JOB_PREFIX = MANAGER_PATH + "/job/"
ERROR = "org.left4me.Builder.Error."
RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
OVERLAY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
LOG_BATCH = 8192
READ_LOG_MAX = 65536

OBJECT_MANAGER_XML = """<node><interface name="org.freedesktop.DBus.ObjectManager">
  <method name="GetManagedObjects"><arg name="objects" type="a{oa{sa{sv}}}" direction="out"/></method>
  <signal name="InterfacesAdded"><arg type="o"/><arg type="a{sa{sv}}"/></signal>
  <signal name="InterfacesRemoved"><arg type="o"/><arg type="as"/></signal>
</interface></node>"""

PROPERTY_TYPES = {}


class Failure(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


class Job:
    def __init__(self, service, job_id, directory):
        self.service = service
        self.id = job_id
        self.dir = directory
        request = json.load(open(os.path.join(directory, "request.json")))
        self.overlay = request["overlay"]
        self.owner = request["owner"]
        self.created_at = request["created_at"]
        self.deadline = request["deadline"]
        self.lines = []           # every line read from the log, as signalled
        self.offset = 0           # bytes of the log read
        self.partial = b""
        self.state, self.result, self.exit_status, self.finished_at = "running", "", -1, 0
        self.path = f"{JOB_PREFIX}{job_id}"

    def file(self, name):
        return os.path.join(self.dir, name)

    def properties(self):
        return {
            "Id": GLib.Variant("t", self.id), "Overlay": GLib.Variant("s", self.overlay),
            "Unit": GLib.Variant("s", f"left4me-build@{self.id}.service"), "State": GLib.Variant("s", self.state),
            "Result": GLib.Variant("s", self.result), "ExitStatus": GLib.Variant("i", self.exit_status),
            "Owner": GLib.Variant("u", self.owner), "CreatedAt": GLib.Variant("t", self.created_at),
            "BuildHash": GLib.Variant("s", "0" * 64), "Progress": GLib.Variant("d", -1.0),
            "StatusText": GLib.Variant("s", ""), "FinishedAt": GLib.Variant("t", self.finished_at),
            "Deadline": GLib.Variant("t", self.deadline), "TimeoutWarned": GLib.Variant("b", self.warned()),
        }

    def warned(self):
        return os.path.exists(self.file("warned"))

    def warn_if_due(self):
        warn_at = self.created_at + (self.deadline - self.created_at) * 75 // 100
        if self.warned() or time.time() * 1e6 < warn_at:
            return
        open(self.file("warned"), "w").close()
        changed = {"TimeoutWarned": self.properties()["TimeoutWarned"]}
        self.service.emit(self.path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                          GLib.Variant("(sa{sv}as)", ("org.left4me.Builder.Job", changed, [])))
        self.service.emit(self.path, "org.left4me.Builder.Job", "TimeoutWarning",
                          GLib.Variant("(t)", (self.deadline,)))

    def recover(self):
        """What an earlier stand-in left: the log so far counts as delivered."""
        self.read(signal_lines=False)
        status = self.status()
        if status is not None:
            self.read(signal_lines=False)
            self.end(status, announce=False)

    def status(self):
        try:
            return json.load(open(self.file("status.json")))
        except FileNotFoundError:
            return None

    def poll(self):
        if self.state != "running":
            return
        status = self.status()  # before reading: the runner writes it after the last line
        self.read(signal_lines=True)
        if status is not None:
            self.end(status, announce=True)
        else:
            self.warn_if_due()

    def read(self, signal_lines):
        with open(self.file("log"), "rb") as log:
            log.seek(self.offset)
            data = log.read()
        if not data:
            return
        self.offset += len(data)
        data = self.partial + data
        complete, _, self.partial = data.rpartition(b"\n")
        if not complete and not data.endswith(b"\n"):
            return
        new = complete.decode("utf-8", "replace").split("\n")
        for start in range(0, len(new), LOG_BATCH):
            batch = new[start:start + LOG_BATCH]
            first = len(self.lines)
            self.lines.extend(batch)
            if signal_lines:
                self.service.emit(self.path, "org.left4me.Builder.Job", "Log", GLib.Variant("(tas)", (first, batch)))

    def end(self, status, announce):
        cancelled = os.path.exists(self.file("cancel"))
        if status.get("signal"):
            self.result, self.exit_status = "signal", 128 + status["signal"]
        elif status["exit"] == 0:
            self.result, self.exit_status = "success", 0
        else:
            self.result, self.exit_status = "exit-code", status["exit"]
        self.state = "cancelled" if cancelled else "succeeded" if self.result == "success" else "failed"
        self.finished_at = status["finished_at"]
        if announce:
            changed = {k: v for k, v in self.properties().items() if k in ("State", "Result", "ExitStatus",
                                                                            "FinishedAt")}
            self.service.emit(self.path, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                              GLib.Variant("(sa{sv}as)", ("org.left4me.Builder.Job", changed, [])))
            self.service.emit(self.path, "org.left4me.Builder.Job", "Finished",
                              GLib.Variant("(si)", (self.result, self.exit_status)))

    def cancel(self):
        if self.state != "running":
            return
        open(self.file("cancel"), "w").close()
        try:
            os.kill(int(open(self.file("runner.pid")).read()), signal.SIGTERM)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            pass  # not started yet, or gone: it reads the cancel file

    def read_log(self, from_line, max_lines):
        if max_lines > READ_LOG_MAX:
            raise Failure(ERROR + "InvalidArgument", f"Argument max_lines: at most {READ_LOG_MAX}.")
        page = self.lines[from_line:from_line + max_lines]
        return from_line + len(page), page


class Service:
    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.jobs_dir = os.path.join(state_dir, "jobs")
        os.makedirs(self.jobs_dir, exist_ok=True)
        self.node = api.node_info()
        self.bus = Gio.DBusConnection.new_for_address_sync(
            os.environ.get("DBUS_STARTER_ADDRESS") or os.environ["DBUS_SESSION_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)
        self.jobs = {}
        self.hung = []
        for interface in self.node.interfaces:
            for prop in interface.properties:
                PROPERTY_TYPES[(interface.name, prop.name)] = prop.signature
        manager = self.node.lookup_interface("org.left4me.Builder")
        self.bus.register_object(MANAGER_PATH, manager, self.on_manager_call, None, None)
        object_manager = Gio.DBusNodeInfo.new_for_xml(OBJECT_MANAGER_XML).interfaces[0]
        self.bus.register_object(MANAGER_PATH, object_manager, self.on_manager_call, None, None)
        for name in sorted(os.listdir(self.jobs_dir), key=int):
            job = Job(self, int(name), os.path.join(self.jobs_dir, name))
            job.recover()
            self.publish(job)
        GLib.timeout_add(10, self.poll)

    def own_name(self):
        # Last, as the daemon does: the first call finds every job.
        reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "RequestName", GLib.Variant("(su)", (BUS_NAME, 4)), None, 0, -1, None)
        if reply.unpack()[0] != 1:
            sys.exit("the name is taken")

    def publish(self, job):
        self.jobs[job.id] = job
        self.bus.register_object(job.path, self.node.lookup_interface("org.left4me.Builder.Job"),
                                 self.on_job_call, self.on_get_property, None)

    def emit(self, path, interface, member, parameters):
        """Emits a signal, after checking it against the XML's declaration."""
        if interface != "org.freedesktop.DBus.Properties":
            info = self.node.lookup_interface(interface).lookup_signal(member)
            declared = "(" + "".join(arg.signature for arg in info.args) + ")"
            assert parameters.get_type_string() == declared, (member, parameters.get_type_string(), declared)
        self.bus.emit_signal(None, path, interface, member, parameters)

    def poll(self):
        for job in list(self.jobs.values()):
            job.poll()
        return True

    def note(self, invocation):
        with open(os.path.join(self.state_dir, "calls"), "a") as calls:
            calls.write(f"{invocation.get_interface_name()}.{invocation.get_method_name()} "
                        f"{invocation.get_object_path()}\n")
        parameters = invocation.get_parameters()
        for index in range(parameters.n_children()):
            arg = parameters.get_child_value(index)
            if arg.get_type_string() == "a{sv}":
                types = {}
                for entry in range(arg.n_children()):
                    key, value = (arg.get_child_value(entry).get_child_value(i) for i in (0, 1))
                    types[key.get_string()] = value.get_variant().get_type_string()
                with open(os.path.join(self.state_dir, "options"), "a") as options:
                    options.write(json.dumps({"method": invocation.get_method_name(), "options": types}) + "\n")
        if os.path.exists(os.path.join(self.state_dir, "hang")):
            self.hung.append(invocation)  # kept, so that GDBus does not answer for us
            return False
        return True

    def answer(self, invocation, work):
        try:
            invocation.return_value(work())
        except Failure as failure:
            invocation.return_dbus_error(failure.name, str(failure))

    def on_manager_call(self, _bus, sender, path, interface, method, parameters, invocation):
        if not self.note(invocation):
            return
        args = parameters.unpack()
        if method == "StartBuild":
            self.answer(invocation, lambda: GLib.Variant("(o)", (self.start_build(sender, *args),)))
        elif method == "Cancel":
            self.answer(invocation, lambda: self.cancel(args[0]))
        elif method in ("EnableServer", "DisableServer"):
            template = args[0] or "left4me-server@.service"
            self.answer(invocation, lambda: GLib.Variant("(s)", (template.replace("@.", f"@{args[1]}.", 1),)))
        elif method == "GetManagedObjects":
            self.answer(invocation, lambda: GLib.Variant("(a{oa{sa{sv}}})", ({
                job.path: {"org.left4me.Builder.Job": job.properties()} for job in self.jobs.values()},)))
        else:
            invocation.return_dbus_error(ERROR + "NotSupported", f"The stand-in service does not do {method}.")

    def on_job_call(self, _bus, _sender, path, _interface, method, parameters, invocation):
        if not self.note(invocation):
            return
        job = self.jobs[int(path.rsplit("/", 1)[1])]
        if method == "ReadLog":
            self.answer(invocation, lambda: GLib.Variant("(tas)", job.read_log(*parameters.unpack())))
        elif method == "Cancel":
            self.answer(invocation, lambda: self.cancel(path))

    def on_get_property(self, _bus, _sender, path, interface, name):
        with open(os.path.join(self.state_dir, "calls"), "a") as calls:
            calls.write(f"org.freedesktop.DBus.Properties.Get({name}) {path}\n")
        value = self.jobs[int(path.rsplit("/", 1)[1])].properties()[name]
        assert value.get_type_string() == PROPERTY_TYPES[(interface, name)]
        return value

    def start_build(self, sender, overlay, script, options):
        allowed = api.method_options("StartBuild")
        for key, value in options.items():
            if key not in allowed:
                raise Failure(ERROR + "InvalidArgument", f"Option {key}: not a known option.")
        if not OVERLAY.match(overlay) or overlay in (".", ".."):
            raise Failure(ERROR + "InvalidArgument", f"Argument overlay: {overlay!r} is not an overlay name.")
        if any(job.overlay == overlay and job.state == "running" for job in self.jobs.values()):
            raise Failure(ERROR + "Busy", f"A build of overlay {overlay} is still running.")
        owner = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "GetConnectionUnixUser", GLib.Variant("(s)", (sender,)), None, 0, -1,
                                   None).unpack()[0]
        job_id = max(self.jobs, default=0) + 1
        directory = os.path.join(self.jobs_dir, str(job_id))
        os.makedirs(directory)
        with open(os.path.join(directory, "script"), "w") as f:
            f.write(script)
        open(os.path.join(directory, "log"), "wb").close()
        with open(os.path.join(directory, "request.json"), "w") as f:
            created_at = int(time.time() * 1e6)
            deadline = created_at + int(options.get("timeout_sec", self.default_timeout_sec()) * 1000000)
            json.dump({"overlay": overlay, "owner": owner, "created_at": created_at, "deadline": deadline}, f)
        # A session of its own: the build outlives the stand-in, as builds
        # outlive the daemon.
        runner = subprocess.Popen([sys.executable, RUNNER, directory], start_new_session=True,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(directory, "runner.pid"), "w") as f:  # at once, for Cancel and the test's clean-up
            f.write(str(runner.pid))
        job = Job(self, job_id, directory)
        self.publish(job)
        return job.path

    def default_timeout_sec(self):
        try:
            return float(open(os.path.join(self.state_dir, "default-timeout-sec")).read())
        except FileNotFoundError:
            return 3600

    def cancel(self, path):
        job_id = path[len(JOB_PREFIX):] if path.startswith(JOB_PREFIX) else ""
        if not job_id.isdigit() or int(job_id) not in self.jobs:
            raise Failure(ERROR + "NoSuchJob", f"There is no job {path}.")
        self.jobs[int(job_id)].cancel()
        return None


def main():
    state_dir = sys.argv[1]
    if os.path.exists(os.path.join(state_dir, "refuse-start")):
        sys.exit(1)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # runners are reaped by the kernel
    with open(os.path.join(state_dir, "service.pid"), "w") as f:
        f.write(str(os.getpid()))
    service = Service(state_dir)
    service.own_name()
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
