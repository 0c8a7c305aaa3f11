"""Fixtures for the end-to-end tests: one booted systemd container per test
session, with the build installed, plus helpers to drive the real daemon over
the real system bus as root and as other users."""

import contextlib
import json
import os
import re
import shutil
import time

import pytest

from container import Container

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "client.py")
PYTHON = "/usr/bin/python3"  # the container's Debian python, with python3-gi

ERROR = "org.left4me.Builder.Error."
# The container cannot enforce cgroup limits (see systemd-container.md), so
# every test configuration says so; the daemon refuses builds otherwise.
BASE_CONFIG = {"allow_unenforced_limits": True}
# What AddressSanitizer, LeakSanitizer and UBSan print, on the daemon's (and
# the build relay's) stderr, which the journal keeps.
SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|Sanitizer has encountered|runtime error: ")
SANITIZER_DROPIN = "/lib/systemd/system/left4me-builderd.service.d/sanitizer.conf"
# Binaries that must never gain a capability through the daemon.
SYSTEM_BINARIES = ["/usr/bin/ping", "/usr/bin/python3.11", "/usr/bin/true"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "quick: in the subset tools/test --quick runs (a few minutes)")
    config.addinivalue_line("markers", "plain_daemon: a bound on the daemon's memory, which ASan blurs; tools/test "
                                       "runs these against the plain build, not the sanitized one")


@pytest.fixture(scope="session")
def container():
    if os.geteuid() != 0:
        pytest.skip("the end-to-end tests boot a systemd container and need root")
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("systemd-nspawn is missing (apt-get install systemd-container)")
    build_dir = os.environ.get("LEFT4ME_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    source_dir = os.environ.get("LEFT4ME_SOURCE_DIR", os.path.join(HERE, "..", ".."))
    c = Container(build_dir, source_dir)
    try:
        c.boot()
        c.install()
        c.run(["useradd", "--create-home", "alice"])
        c.run(["useradd", "--create-home", "--groups", "left4me", "bob"])
        # For the translation tests; written to the container's layer only.
        c.run(["localedef", "-i", "de_DE", "-f", "UTF-8", "de_DE.UTF-8"])
        c.write("/etc/left4me/builder.json", json.dumps(BASE_CONFIG))
        yield c
    finally:
        c.poweroff()


@pytest.fixture(scope="session", autouse=True)
def no_sanitizer_reports(container):
    """With a sanitizer build installed (meson -Db_sanitize=address,undefined
    installs sanitizer.conf), the whole suite must leave 0 reports: checked
    in the journal of every boot, after the last test, once the daemon has
    exited (LeakSanitizer reports at exit)."""
    yield
    if not sanitized(container):
        return
    container.run(["systemctl", "stop", "left4me-builderd.service"], check=False)
    journal = container.run(["journalctl", "--no-pager", "-o", "short-iso"]).stdout
    lines = journal.splitlines()
    reports = [i for i, line in enumerate(lines) if SANITIZER_REPORT.search(line)]
    assert not reports, "sanitizer reports:\n" + "\n\n".join(sanitizer_report(lines, i) for i in reports[:5])


def sanitizer_report(lines, first):
    """The report starting at journal line FIRST: the lines the same process
    logged after it (its stack traces, its SUMMARY), so that a CI log says
    what leaked and where, not only that something did."""
    process = re.search(r"\S+\[\d+\]:", lines[first])
    if process is None:
        return lines[first]
    same = [line for line in lines[first:first + 2000] if process.group(0) in line]
    return "\n".join(same[:80])


def sanitized(container):
    """True when the installed daemon is a sanitizer build, whose memory
    figures say nothing (ASan's quarantine) and whose leaks LeakSanitizer
    checks instead."""
    return container.run(["test", "-e", SANITIZER_DROPIN], check=False).returncode == 0


class Service:
    """The installed daemon in the container, seen from outside."""

    def __init__(self, container):
        self.c = container

    def client(self, *args, user=None, real_uid=None, timeout=120, input=None):
        """Runs the test client as root, as USER, or (REAL_UID) as root with
        that real uid, the way a setuid program calls."""
        argv = [PYTHON, CLIENT] + [str(a) for a in args]
        if real_uid is not None:
            argv = ["setpriv", f"--ruid={real_uid}", "--"] + argv
        result = self.c.run(argv, user=user, timeout=timeout, input=input)
        return json.loads(result.stdout)

    def call(self, method, *args, user=None, interactive=False, path=None, iface=None, signature=None,
             disconnect=False):
        extra = ["--interactive"] if interactive else []
        if signature is not None:
            extra += ["--signature", signature]
        if path is not None:
            extra += ["--path", path]
        if iface is not None:
            extra += ["--iface", iface]
        if disconnect:
            extra += ["--disconnect"]
        # Through stdin: a 1 MiB script does not fit in an argument list.
        return self.client("call", method, "-", *extra, user=user, input=json.dumps(list(args)))

    def build(self, overlay, script, user=None, real_uid=None, options=None, cancel_after=None, cancel_on=None,
              timeout=60):
        args = ["build", overlay, script, "--options", json.dumps(options or {}), "--timeout", timeout]
        if cancel_after is not None:
            args += ["--cancel-after", cancel_after]
        if cancel_on is not None:
            args += ["--cancel-on", cancel_on]
        return self.client(*args, user=user, real_uid=real_uid, timeout=timeout + 30)

    def refused(self, method, *args, error, mentions=(), user=None):
        """Calls METHOD and checks the documented refusal: the error ERROR,
        a message naming each of MENTIONS, and nothing changed anywhere."""
        # Up first: activation itself creates the daemon's state directories.
        # And settled: a build the last test left is adopted and its end
        # cleaned up a moment after the start.
        self.start_daemon()
        self.wait_for(self.builds_settled, what="the daemon to settle the builds that ended while it was down")
        before = self.snapshot()
        answer = self.call(method, *args, user=user)
        assert answer.get("error") == ERROR + error, answer
        for needle in ([mentions] if isinstance(mentions, str) else mentions):
            assert needle in answer["message"], answer
        assert self.snapshot() == before
        return answer

    def builds_settled(self):
        """True when every build's runtime directory belongs to a running unit."""
        jobs = self.c.sh("ls /run/left4me-builder/jobs 2>/dev/null; true").stdout.split()
        return all(self.unit_property(f"left4me-build@{job}.service", "ActiveState") == "active" for job in jobs)

    def overlay(self, name, owner="left4me"):
        path = f"/var/lib/left4me/overlays/{name}"
        self.c.sh(f"rm -rf {path} && mkdir -p {path} && chown {owner}: {path}")
        return path

    def start_daemon(self):
        """systemctl start, and once more if systemd could not even spawn
        the daemon: in the container, a start right after a stop sometimes
        finds the unit's new cgroup gone (status 219/CGROUP, "Failed to
        attach to cgroup"), a race inside systemd before the daemon runs."""
        if self.c.run(["systemctl", "start", "left4me-builderd.service"], check=False).returncode != 0:
            assert self.unit_property("left4me-builderd.service", "ExecMainStatus") == "219", \
                self.c.run(["systemctl", "status", "--no-pager", "left4me-builderd.service"], check=False).stdout
            self.c.run(["systemctl", "reset-failed", "left4me-builderd.service"])
            self.c.run(["systemctl", "start", "left4me-builderd.service"])

    def stop_daemon(self):
        self.c.run(["systemctl", "stop", "left4me-builderd.service"], check=False)
        self.c.run(["systemctl", "reset-failed", "left4me-builderd.service"], check=False)

    def is_active(self):
        return self.c.run(["systemctl", "is-active", "left4me-builderd.service"], check=False).stdout.strip()

    def set_config(self, config):
        """Writes BASE_CONFIG plus CONFIG (None: just the base) and restarts the daemon."""
        self.c.write("/etc/left4me/builder.json", json.dumps(dict(BASE_CONFIG, **(config or {}))))
        self.stop_daemon()

    def unit_property(self, unit, prop):
        return self.c.run(["systemctl", "show", "-P", prop, unit]).stdout.strip()

    def wait_for(self, predicate, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def snapshot(self):
        """Everything a call could change: job state, build units, mounts,
        files, capabilities (the raw xattrs in the add-ons tree and on
        system binaries an escape would aim at) and unit files."""
        return {
            "jobs": self.c.sh("ls /var/lib/left4me-builder/jobs /run/left4me-builder/jobs 2>/dev/null; true").stdout,
            "units": self.c.sh("systemctl list-units --all --plain --no-legend 'left4me-build@*'").stdout,
            "mounts": self.c.sh("findmnt --task 1 -n -o TARGET | grep -v '^/$' | sort").stdout,
            "overlays": self.c.sh("find /var/lib/left4me -printf '%p %u %m\\n' | sort").stdout,
            "caps": self.c.sh(f"getfattr --absolute-names -R -P -m '^security\\.capability$' -e hex -d "
                              f"/var/lib/left4me/addons {' '.join(SYSTEM_BINARIES)} 2>/dev/null; true").stdout,
            # Unit files and their links (enabled or not), with each file's checksum.
            "unit files": self.c.sh("find /etc/systemd/system /run/systemd/system \\( -type f -o -type l \\) "
                                    "-printf '%p %l ' -exec sh -c 'test -f \"$1\" && md5sum < \"$1\" || echo' "
                                    "_ {} \\; | sort").stdout,
        }

    @contextlib.contextmanager
    def polkit_reload(self):
        """Around a change of polkit's rules files: waits until polkitd has
        loaded them (it reloads on an inotify event, in its own time)."""
        self.c.run(["systemctl", "start", "polkit.service"])
        cursor = self.c.run(["journalctl", "-n", "0", "--show-cursor", "-q"]).stdout.split("cursor: ", 1)[1].strip()
        yield

        def loaded():
            files = self.c.sh("ls /etc/polkit-1/rules.d/*.rules /usr/share/polkit-1/rules.d/*.rules 2>/dev/null "
                              "| wc -l").stdout.strip()
            log = self.c.run(["journalctl", "-u", "polkit.service", "-o", "cat", f"--after-cursor={cursor}"]).stdout
            counts = re.findall(r"Finished loading, compiling and executing (\d+) rules", log)
            return counts and counts[-1] == files

        self.wait_for(loaded, what="polkitd to load the changed rules")


@pytest.fixture
def svc(container):
    service = Service(container)
    yield service
    # Leave no test's configuration, rules or running builds for the next.
    container.write("/etc/left4me/builder.json", json.dumps(BASE_CONFIG))
    # Unmasked only if masked: systemctl unmask reloads systemd every time,
    # and a start of the daemon right after a reload sometimes fails in the
    # container (status 219/CGROUP: its old cgroup is still going away).
    container.sh("rm -f /etc/polkit-1/rules.d/*-test-*.rules; "
                 "case $(systemctl is-enabled polkit.service) in masked*) systemctl unmask polkit.service;; esac; "
                 "gpasswd -d alice left4me; true", check=False)
    container.sh("systemctl stop 'left4me-build@*.service'; true", check=False)
    service.stop_daemon()  # the next test starts from the default configuration
