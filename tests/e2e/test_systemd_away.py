"""systemd leaves the bus while the daemon waits on one of its jobs, as it
does for a daemon-reexec, and the job ends meanwhile: its JobRemoved (and
the unit's PropertiesChanged) reach nobody. To make that loss certain, the
test hides the system bus socket before the reexec, so that PID 1 stays off
the bus while a held start job is let go, and only then lets it back. The
daemon must notice systemd's return, find the job gone and settle the call
from the unit's state, well within jobCheckSec (15 s), its bound for a loss
it cannot see."""

import contextlib
import json
import threading
import time

import pytest

from test_mount import RUNTIME, layers, mounts_of  # noqa: F401 (fixtures)

HOLD = "left4me-test-hold.service"
GO = "/run/left4me-test-go"
SOCKET = "/run/dbus/system_bus_socket"
HIDDEN = "/run/dbus/left4me-test-hidden"
DROP_INS = "/run/systemd/system"


@pytest.fixture
def hold(svc):
    """Start jobs of the units given to hold_back() wait until GO exists."""
    svc.c.write(f"{DROP_INS}/{HOLD}", "[Service]\nType=oneshot\n"
                f"ExecStart=/bin/sh -c 'while [ ! -e {GO} ]; do sleep 0.1; done'\n")
    svc.c.run(["rm", "-f", GO])
    held = []

    def hold_back(unit):
        held.append(unit)
        svc.c.write(f"{DROP_INS}/{unit}.d/left4me-test-hold.conf", f"[Unit]\nRequires={HOLD}\nAfter={HOLD}\n")
        svc.c.run(["systemctl", "daemon-reload"])

    yield hold_back
    svc.c.sh(f"test -e {SOCKET} || mv {HIDDEN} {SOCKET}; touch {GO}")
    for unit in held:
        svc.c.run(["rm", "-rf", f"{DROP_INS}/{unit}.d"])
    svc.c.run(["rm", "-f", f"{DROP_INS}/{HOLD}", GO])
    svc.c.run(["systemctl", "daemon-reload"])


def systemd_owner(svc):
    """systemd's unique name on the bus ("(activatable)" while it is off the bus)."""
    return svc.c.sh(f"busctl --address=unix:path=$(test -e {SOCKET} && echo {SOCKET} || echo {HIDDEN}) "
                    "list --no-legend | awk '$1 == \"org.freedesktop.systemd1\" { print $5 }'").stdout.strip()


@contextlib.contextmanager
def systemd_off_the_bus(svc):
    before = systemd_owner(svc)
    svc.c.run(["mv", SOCKET, HIDDEN])
    try:
        svc.c.run(["systemctl", "daemon-reexec"])  # over PID 1's private socket
        assert systemd_owner(svc) == "(activatable)"
        yield
    finally:
        svc.c.run(["mv", HIDDEN, SOCKET])
    svc.c.run(["systemctl", "daemon-reexec"])
    svc.wait_for(lambda: systemd_owner(svc) not in ("(activatable)", "", before), what="systemd back on the bus")


def waiting_jobs(svc):
    return svc.c.run(["systemctl", "list-jobs", "--no-legend", "--plain"]).stdout


def now(svc):
    return svc.c.run(["date", "+@%s.%N"]).stdout.strip()


def journal_since(svc, since):
    return svc.c.run(["journalctl", "--no-pager", "-o", "cat", "-u", "left4me-builderd.service",
                      f"--since={since}"]).stdout


def status(svc, job):
    return json.loads(svc.c.run(["left4me-builderctl", "--json", "status", job]).stdout)


@pytest.mark.quick
def test_a_mount_whose_start_job_ends_while_systemd_is_off_the_bus_is_answered(svc, layers, hold):  # noqa: F811
    unit = "var-lib-left4me-runtime-away-merged.mount"
    hold(unit)
    svc.c.run(["systemctl", "start", "left4me-builderd.service"])
    since = now(svc)
    answer = {}
    caller = threading.Thread(target=lambda: answer.update(svc.call("Mount", "away", layers, {})))
    caller.start()
    svc.wait_for(lambda: unit in waiting_jobs(svc), what="the mount's start job to wait")
    with systemd_off_the_bus(svc):
        svc.c.run(["touch", GO])
        svc.wait_for(lambda: svc.c.run(["systemctl", "is-active", unit], check=False).stdout.strip() == "active",
                     what="the mount to be mounted, unannounced")
        assert "reply" not in answer and "error" not in answer
    back = time.monotonic()
    caller.join(30)
    assert answer == {"reply": [f"{RUNTIME}/away/merged"]}
    assert time.monotonic() - back < 10  # at systemd's return, not at the next check
    assert "overlay" in mounts_of(svc, f"{RUNTIME}/away/merged")
    journal = journal_since(svc, since)
    assert "systemd is on the bus as" in journal
    assert "ended unannounced; the unit is active" in journal
    # The instance is not held: Unmount works, and so does the next Mount.
    assert svc.call("Unmount", "away") == {"reply": []}
    assert mounts_of(svc, f"{RUNTIME}/away/") == ""


@pytest.mark.quick
def test_a_build_whose_start_job_ends_while_systemd_is_off_the_bus_runs_and_ends(svc, hold):
    # The relay waits for its idmapped overlay, which the daemon binds once
    # it knows the unit runs: without the settling, the build would sit
    # there until its timeout.
    hold("left4me-build@.service")
    svc.overlay("away")
    svc.c.run(["systemctl", "start", "left4me-builderd.service"])
    job = svc.c.run(["left4me-builderctl", "build", "away", "-", "--no-follow"], input="echo hi\n").stdout.strip()
    unit = f"left4me-build@{job}.service"
    svc.wait_for(lambda: unit in waiting_jobs(svc), what="the build's start job to wait")
    with systemd_off_the_bus(svc):
        svc.c.run(["touch", GO])
        svc.wait_for(lambda: svc.c.run(["systemctl", "is-active", unit], check=False).stdout.strip() == "active",
                     what="the build unit to run, unannounced")
    svc.wait_for(lambda: status(svc, job)["State"] not in ("starting", "running"), timeout=10,
                 what="the build to end")
    assert (status(svc, job)["State"], status(svc, job)["Result"]) == ("succeeded", "success")
    assert svc.c.run(["left4me-builderctl", "log", job]).stdout == "hi\n"
    journal = svc.c.run(["journalctl", "--no-pager", "-o", "cat", f"LEFT4ME_JOB={job}"]).stdout
    assert "start job ended unannounced" in journal
