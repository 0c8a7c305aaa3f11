"""Signals are acted on only when they come from the unique name that owns
the well-known name they claim: any local user may address a signal to a
connection (a unicast signal), with any path and member, and sd-bus matches a
well-known sender name loosely. Each test forges, as a plain user, the signal
that used to fool the daemon or the CLI, and shows it changes nothing."""

import re
import time

CTL = "left4me-builderctl"


def start(svc, overlay, script):
    svc.overlay(overlay)
    return svc.c.run([CTL, "build", overlay, "-", "--no-follow"], input=script).stdout.strip()


def job_property(svc, job, name):
    out = svc.c.run(["busctl", "get-property", "org.left4me.Builder", f"/org/left4me/Builder/job/{job}",
                     "org.left4me.Builder.Job", name]).stdout.split(None, 1)[1].strip()
    return out.strip('"')


def emit(svc, destination, path, interface, member, signature, *args, user="alice"):
    """busctl emit as USER: the forger."""
    svc.c.run(["busctl", "emit", f"--destination={destination}", path, interface, member, signature]
              + [str(a) for a in args], user=user)


def unit_path(unit):
    return "/org/freedesktop/systemd1/unit/" + re.sub(r"[^A-Za-z0-9]", lambda m: "_%02x" % ord(m.group(0)), unit)


def test_a_forged_properties_changed_neither_ends_a_build_nor_frees_its_overlay(svc):
    job = start(svc, "forged", "sleep 4; echo real end\n")
    svc.wait_for(lambda: job_property(svc, job, "State") == "running", what="the build to run")
    unit = job_property(svc, job, "Unit")
    # What a failed unit announces; sent to the daemon's connection, by alice.
    emit(svc, "org.left4me.Builder", unit_path(unit), "org.freedesktop.DBus.Properties", "PropertiesChanged",
         "sa{sv}as", "org.freedesktop.systemd1.Unit", 2, "ActiveState", "s", "failed", "SubState", "s", "failed", 0)
    time.sleep(0.5)  # the daemon has read the signal long before: it is on the same connection's queue
    assert job_property(svc, job, "State") == "running"
    # The overlay is still taken: a second build is refused, not run beside it.
    second = svc.call("StartBuild", "forged", "echo second", {})
    assert second.get("error") == "org.left4me.Builder.Error.Busy", second
    svc.wait_for(lambda: job_property(svc, job, "State") != "running", timeout=30, what="the build to end")
    assert (job_property(svc, job, "State"), job_property(svc, job, "ExitStatus")) == ("succeeded", "0")
    assert svc.c.run([CTL, "log", job]).stdout == "real end\n"


def test_forged_job_removed_signals_do_not_decide_a_mount(svc):
    """The daemon keeps the results of jobs removed before it asked (the
    signal may overtake StartTransientUnit's reply), so a forger who fills
    that cache for the next job numbers used to fail every Mount."""
    svc.c.run(["systemctl", "start", "left4me-builderd.service"])
    layer = "/var/lib/left4me/installation/forged"
    svc.c.sh(f"mkdir -p {layer} && chown left4me: {layer}")
    # systemd numbers jobs in order: learn the latest number from a job of our own.
    job = svc.c.run(["busctl", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                     "org.freedesktop.systemd1.Manager", "StartUnit", "ss", "systemd-tmpfiles-clean.service",
                     "replace"]).stdout.split()[-1].strip('"')
    latest = int(job.rsplit("/", 1)[1])
    forge = "; ".join(
        f"busctl emit --destination=org.left4me.Builder /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager "
        f"JobRemoved uoss {n} /org/freedesktop/systemd1/job/{n} x.mount failed" for n in range(latest + 1, latest + 60))
    svc.c.sh(forge, user="alice")
    answer = svc.call("Mount", "forged", [layer], {"read_only": True})
    assert answer.get("reply") == ["/var/lib/left4me/runtime/forged/merged"], answer
    assert svc.c.run(["findmnt", "--task", "1", "-n", "/var/lib/left4me/runtime/forged/merged"],
                     check=False).returncode == 0
    assert svc.call("Unmount", "forged").get("reply") is not None


def follow_in_background(svc, job, name):
    """Runs `log JOB --follow` in the container's background, its output,
    status and pid in /tmp/NAME.*; returns the pid."""
    svc.c.sh(f"({CTL} log {job} --follow > /tmp/{name}.out 2>&1; echo $? > /tmp/{name}.rc) "
             f"</dev/null >/dev/null 2>&1 & echo $! > /tmp/{name}.pid")
    return svc.c.run(["cat", f"/tmp/{name}.pid"]).stdout.strip()


def connection_of(svc, parent):
    """The unique bus name of the CLI started by the subshell PARENT."""
    pid = svc.c.run(["pgrep", "-P", parent, "-x", "left4me-builder"], check=False).stdout.strip()
    names = svc.c.run(["busctl", "list", "--no-legend", "--unique"]).stdout.splitlines()
    return next((line.split()[0] for line in names if pid and line.split()[1:2] == [pid]), None)


def finished(svc, name):
    return svc.c.run(["test", "-s", f"/tmp/{name}.rc"], check=False).returncode == 0


def test_the_cli_prints_only_the_lines_the_service_sent(svc):
    job = start(svc, "forged-cli", "sleep 3; echo one; echo two\n")
    parent = follow_in_background(svc, job, "forged-cli")
    svc.wait_for(lambda: connection_of(svc, parent) is not None, what="the CLI to connect")
    # Lines 0 and 1 are what the CLI waits for next: forged, they used to be
    # printed, and the real ones dropped as duplicates.
    emit(svc, connection_of(svc, parent), f"/org/left4me/Builder/job/{job}", "org.left4me.Builder.Job", "Log",
         "tas", 0, 2, "forged zero", "forged one")
    svc.wait_for(lambda: finished(svc, "forged-cli"), timeout=30, what="the CLI to finish")
    assert svc.c.run(["cat", "/tmp/forged-cli.out"]).stdout == "one\ntwo\n"
    assert svc.c.run(["cat", "/tmp/forged-cli.rc"]).stdout.strip() == "0"


def test_a_forged_name_owner_changed_does_not_end_the_clis_follow(svc):
    """The CLI stops following when the service leaves the bus; only the bus
    driver may say so."""
    job = start(svc, "forged-owner", "sleep 3; echo still here\n")
    parent = follow_in_background(svc, job, "forged-owner")
    svc.wait_for(lambda: connection_of(svc, parent) is not None, what="the CLI to connect")
    status = svc.c.run(["busctl", "status", "--no-pager", "org.left4me.Builder"]).stdout
    unique = re.search(r"UniqueName=(\S+)", status).group(1)
    emit(svc, connection_of(svc, parent), "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged",
         "sss", "org.left4me.Builder", unique, "")
    svc.wait_for(lambda: finished(svc, "forged-owner"), timeout=30, what="the CLI to finish")
    assert svc.c.run(["cat", "/tmp/forged-owner.out"]).stdout == "still here\n"
    assert svc.c.run(["cat", "/tmp/forged-owner.rc"]).stdout.strip() == "0"


GLIB_FOLLOWER = r"""
import sys
from gi.repository import Gio, GLib
job = sys.argv[1]
bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
loop = GLib.MainLoop()
seen = []
def on_log(_bus, _sender, _path, _iface, _member, params):
    seen.extend(params.unpack()[1])
def on_finished(*_):
    loop.quit()
# As left4me_builder subscribes: by the service's well-known name.
bus.signal_subscribe("org.left4me.Builder", "org.left4me.Builder.Job", "Log", job, None, Gio.DBusSignalFlags.NONE,
                     on_log)
bus.signal_subscribe("org.left4me.Builder", "org.left4me.Builder.Job", "Finished", job, None,
                     Gio.DBusSignalFlags.NONE, on_finished)
print(bus.get_unique_name(), flush=True)
GLib.timeout_add_seconds(30, loop.quit)
loop.run()
print(repr(seen), flush=True)
"""


def test_glib_drops_a_signal_whose_sender_is_not_the_services_owner(svc):
    """left4me_builder subscribes through GLib by the service's well-known
    name; GLib checks the sender against the name's unique owner
    (CVE-2024-34397, fixed in Debian 12's libglib2.0-0), so a forged Log
    addressed to the client is dropped."""
    job = start(svc, "forged-glib", "sleep 3; echo one; echo two\n")
    path = f"/org/left4me/Builder/job/{job}"
    follower = svc.c.popen(["/usr/bin/python3", "-c", GLIB_FOLLOWER, path])
    unique = follower.stdout.readline().strip()
    emit(svc, unique, path, "org.left4me.Builder.Job", "Log", "tas", 0, 1, "forged zero")
    emit(svc, unique, path, "org.left4me.Builder.Job", "Finished", "si", "success", 0)
    out, _ = follower.communicate(timeout=60)
    assert out.strip() == repr(["one", "two"])
