"""The Debian packages (debian/, tools/package), installed with apt-get into
a fresh container of their own, never with meson install: a fresh install
works as the demo does, an upgrade keeps a running build and a persistent
mount, remove stops the daemon and keeps its data, purge removes its
configuration and state but never the web app's /var/lib/left4me.

The tests run in order, on one container, as an admin would go through
the package's life. tools/test builds the packages once (version N, and N
rebuilt as N+1) and names their directory in LEFT4ME_PACKAGE_DIR; without
it, this module runs tools/package itself, which takes minutes."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import BASE_CONFIG, PYTHON
from container import Container

SOURCE_DIR = os.environ.get("LEFT4ME_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGES = ["left4me-builderd", "left4me-builderctl", "python3-left4me-builder"]
DEBS = "/var/cache/left4me-test-debs"  # inside the container
CTL = "left4me-builderctl"
RULES = "/usr/share/doc/left4me-builderd/examples/50-left4me-builder.rules"
L4M = "/var/lib/left4me"
STATE = "/var/lib/left4me-builder"
APT = {"DEBIAN_FRONTEND": "noninteractive"}

VERSION = subprocess.run(["dpkg-parsechangelog", "-l", os.path.join(SOURCE_DIR, "debian", "changelog"),
                          "-S", "Version"], capture_output=True, text=True, check=True).stdout.strip()
NEXT = VERSION + "+rebuild1"


def package_files(directory, version):
    files = {}
    for name in os.listdir(directory):
        package, _, rest = name.partition("_")
        if package in PACKAGES and rest.startswith(version + "_") and name.endswith(".deb"):
            files[package] = name
    assert sorted(files) == sorted(PACKAGES), f"{directory} lacks the {version} packages: {os.listdir(directory)}"
    return [files[p] for p in PACKAGES]


@pytest.fixture(scope="module")
def debs():
    """The directory with the .debs of VERSION and NEXT."""
    given = os.environ.get("LEFT4ME_PACKAGE_DIR")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="left4me-debs-") as out:
        env = dict(os.environ, DEB_BUILD_OPTIONS=os.environ.get("DEB_BUILD_OPTIONS", f"nocheck parallel={os.cpu_count()}"))
        subprocess.run([os.path.join(SOURCE_DIR, "tools", "package"), "--output", out, "--rebuild-as", NEXT],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        yield out


@pytest.fixture(scope="module")
def host(debs):
    """A fresh container with nothing of ours installed, the .debs copied in."""
    if os.geteuid() != 0:
        pytest.skip("the end-to-end tests boot a systemd container and need root")
    c = Container(os.environ.get("LEFT4ME_BUILD_DIR", SOURCE_DIR), SOURCE_DIR)
    try:
        c.boot()
        # This machine's image forbids package scripts every service action
        # (a policy-rc.d that exits 101, a container-image habit); a Debian
        # host has none, and the daemon's scripts must be seen to act.
        c.run(["rm", "-f", "/usr/sbin/policy-rc.d"])
        os.makedirs(c.root + DEBS)
        for version in (VERSION, NEXT):
            for name in package_files(debs, version):
                shutil.copy(os.path.join(debs, name), c.root + DEBS)
        yield c
    finally:
        c.poweroff()


def apt(c, command, *packages):
    return c.run(["apt-get", command, "-y", "-q", "--no-install-recommends", *packages], env=APT, timeout=300)


def ctl(c, *args, user="webapp", input=None):
    return c.run([CTL, *map(str, args)], user=user, input=input, check=False)


def daemon_pid(c):
    return int(c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout)


def job_state(c, job):
    return json.loads(ctl(c, "--json", "status", job).stdout)["State"]


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def installed_version(c, package):
    """dpkg's status and version of PACKAGE; "" once nothing of it is left."""
    status = c.run(["dpkg-query", "-W", "-f=${Status} ${Version}", package], check=False).stdout
    return "" if " not-installed" in status else status


def test_a_fresh_install_is_bus_activated_and_builds_mounts_and_applies_caps(host):
    c = host
    apt(c, "install", *(f"{DEBS}/{name}" for name in package_files(c.root + DEBS, VERSION)))
    for package in PACKAGES:
        assert installed_version(c, package) == f"install ok installed {VERSION}"
    # What the maintainer scripts did, through debhelper's tools.
    assert c.run(["getent", "passwd", "left4me"]).stdout.count("\n") == 1  # builds run as dynamic users
    assert c.run(["stat", "-c", "%U %a", f"{L4M}/installation", STATE]).stdout.split("\n")[:2] == [
        "left4me 755", "root 700"]
    c.run(["useradd", "--create-home", "--groups", "left4me", "webapp"])
    c.run(["cp", RULES, "/etc/polkit-1/rules.d/"])
    c.write("/etc/left4me/builder.json", json.dumps(BASE_CONFIG))

    # Bus activation: the first call starts the stopped daemon.
    c.run(["systemctl", "stop", "left4me-builderd.service"])
    assert c.run(["systemctl", "is-active", "left4me-builderd.service"], check=False).stdout.strip() == "inactive"
    assert ctl(c, "jobs").returncode == 0
    assert c.run(["systemctl", "is-active", "left4me-builderd.service"]).stdout.strip() == "active"
    dbus = c.run(["journalctl", "--no-pager", "-o", "cat", "-u", "dbus.service"]).stdout
    assert "Activating via systemd: service name='org.left4me.Builder'" in dbus

    # One build, as the web app's user.
    c.sh(f"mkdir -p {L4M}/overlays/demo && chown left4me: {L4M}/overlays/demo")
    build = ctl(c, "build", "demo", "-", input="echo building as $USER\ntouch made\n")
    assert build.returncode == 0 and build.stdout.startswith("building as left4me-build-"), build
    assert c.run(["stat", "-c", "%U", f"{L4M}/overlays/demo/made"]).stdout.strip() == "left4me"
    # One mount and one ApplyCaps, as an admin.
    c.sh(f"mkdir -p {L4M}/installation/game && echo cfg > {L4M}/installation/game/server.cfg")
    where = ctl(c, "mount", "server1", f"{L4M}/overlays/demo", f"{L4M}/installation/game", user="root")
    assert where.returncode == 0, where
    assert c.run(["ls", where.stdout.strip()]).stdout.split() == ["made", "server.cfg"]
    assert ctl(c, "unmount", "server1", user="root").returncode == 0
    c.sh(f"mkdir -p {L4M}/addons/pinger/versions/1.0 && cp /usr/bin/true {L4M}/addons/pinger/versions/1.0/probe")
    caps = ctl(c, "caps", "pinger", "1.0", "probe", "cap_net_raw", "--activate", user="root")
    assert caps.returncode == 0, caps
    assert c.run(["getcap", f"{L4M}/addons/pinger/versions/1.0/probe"]).stdout.split()[-1] == "cap_net_raw=ep"
    # The Python client is installed for Debian's python3.
    assert c.run([PYTHON, "-c", "import left4me_builder; print(left4me_builder.__file__)"]).stdout.startswith(
        "/usr/lib/python3/dist-packages/left4me_builder/")


def test_an_upgrade_while_a_build_runs_adopts_it_and_keeps_a_persistent_mount(host):
    c = host
    c.sh(f"mkdir -p {L4M}/overlays/long && chown left4me: {L4M}/overlays/long")
    # The build waits for the test, so it runs through the whole upgrade.
    script = "echo before\nwhile [ ! -e /overlay/go ]; do sleep 0.1; done\nseq 1 2000\necho after\n"
    job = ctl(c, "build", "long", "-", "--no-follow", input=script).stdout.strip()
    wait_for(lambda: job_state(c, job) == "running", "the build to run")
    where = ctl(c, "mount", "persist1", f"{L4M}/installation/game", "--persistent", user="root").stdout.strip()
    old_pid = daemon_pid(c)

    apt(c, "install", *(f"{DEBS}/{name}" for name in package_files(c.root + DEBS, NEXT)))
    for package in PACKAGES:
        assert installed_version(c, package) == f"install ok installed {NEXT}"
    # The upgrade restarted the daemon: a new process from the new files.
    new_pid = daemon_pid(c)
    assert new_pid not in (0, old_pid)
    assert c.run(["readlink", f"/proc/{new_pid}/exe"]).stdout.strip() == "/usr/libexec/left4me-builderd"
    assert job_state(c, job) == "running"  # adopted by the new daemon

    c.sh(f"touch {L4M}/overlays/long/go")
    wait_for(lambda: job_state(c, job) == "succeeded", "the adopted build to succeed")
    status = json.loads(ctl(c, "--json", "status", job).stdout)
    assert (status["Result"], status["ExitStatus"]) == ("success", 0)
    assert ctl(c, "log", job).stdout.splitlines() == ["before"] + [str(i) for i in range(1, 2001)] + ["after"]

    mounts = json.loads(ctl(c, "--json", "mounts", user="root").stdout)
    assert [(m["Instance"], m["Persistent"], m["Where"]) for m in mounts] == [("persist1", True, where)]
    assert c.run(["findmnt", "--task", "1", "-n", "-o", "FSTYPE", where]).stdout.strip() == "overlay"
    assert ctl(c, "unmount", "persist1", user="root").returncode == 0


def test_remove_stops_the_daemon_and_keeps_data_state_and_configuration(host):
    c = host
    assert ctl(c, "jobs").returncode == 0  # the daemon runs
    pid = daemon_pid(c)
    apt(c, "remove", *PACKAGES)
    assert installed_version(c, "left4me-builderd") == f"deinstall ok config-files {NEXT}"
    assert c.run(["test", "-e", f"/proc/{pid}"], check=False).returncode != 0
    assert c.run(["systemctl", "is-active", "left4me-builderd.service"], check=False).stdout.strip() != "active"
    # Nobody can start it any more: the activation file went with it.
    call = c.run(["busctl", "call", "org.left4me.Builder", "/org/left4me/Builder", "org.freedesktop.DBus.Peer",
                  "Ping"], check=False)
    assert call.returncode != 0 and "org.left4me.Builder" in call.stderr
    # Kept: the state (jobs and their logs), the configuration, the data.
    assert c.run(["ls", f"{STATE}/jobs"]).stdout.split()
    assert c.run(["test", "-f", "/etc/left4me/builder.json"], check=False).returncode == 0
    assert c.run(["test", "-f", f"{L4M}/overlays/demo/made"], check=False).returncode == 0


def test_purge_removes_configuration_and_state_but_never_the_web_apps_data(host):
    c = host
    c.write("/etc/left4me/webapp.ini", "[webapp]\n")  # the web app's own file beside ours
    # The daemon's package is the one remove leaves configured ("rc"); the
    # others have no configuration and are gone already.
    assert [installed_version(c, p) for p in PACKAGES[1:]] == ["", ""]
    apt(c, "purge", "left4me-builderd")
    assert installed_version(c, "left4me-builderd") == ""
    assert c.run(["test", "-e", STATE], check=False).returncode != 0
    assert c.run(["test", "-e", "/etc/left4me/builder.json"], check=False).returncode != 0
    assert c.run(["test", "-f", "/etc/left4me/webapp.ini"], check=False).returncode == 0
    for kept in (f"{L4M}/overlays/demo/made", f"{L4M}/installation/game/server.cfg",
                 f"{L4M}/addons/pinger/versions/1.0/probe"):
        assert c.run(["test", "-f", kept], check=False).returncode == 0, kept
    assert c.run(["getent", "passwd", "left4me"], check=False).returncode == 0  # users stay, as Debian's do
