"""InstallUnits and RemoveUnits against the real daemon and a real systemd:
an add-on's own units, judged by what systemd makes of them, installed,
enabled and started as one step, put back whole when a step fails or the
daemon is killed, and removed idempotently."""

import json

import pytest

from conftest import ERROR

ADDONS = "/var/lib/left4me/addons"
UNITS = "/etc/systemd/system"
CTL = "left4me-builderctl"

SERVICE = "[Unit]\nDescription=tick {version}\n[Service]\nType=oneshot\nUser=left4me\nRemainAfterExit=yes\n" \
          "ExecStart=/bin/echo tick {version}\n"
TIMER = "[Timer]\nOnCalendar=hourly\n[Install]\nWantedBy=timers.target\n"


def stage(svc, version, files):
    """Writes FILES ({name: text}) as add-on tick's VERSION, owned by the owner user."""
    directory = f"{ADDONS}/tick/versions/{version}/units"
    svc.c.sh(f"rm -rf {directory} && mkdir -p {directory}")
    for name, text in files.items():
        svc.c.write(f"{directory}/{name}", text)
    svc.c.sh(f"chown -R left4me: {ADDONS}/tick")
    return directory


@pytest.fixture
def tick(svc):
    svc.c.run(["mkdir", "-p", ADDONS])
    yield
    svc.call("RemoveUnits", "tick")
    svc.c.sh(f"rm -rf {ADDONS}/tick")


def units_state(svc, *units):
    """Each unit's file (bytes), enablement and activity."""
    state = {}
    for unit in units:
        state[unit] = (svc.c.run(["cat", f"{UNITS}/{unit}"], check=False).stdout,
                       svc.c.run(["systemctl", "is-enabled", unit], check=False).stdout.strip(),
                       svc.c.run(["systemctl", "is-active", unit], check=False).stdout.strip())
    return state


def published(svc):
    return json.loads(svc.c.run([CTL, "--json", "units", "list"]).stdout)


@pytest.mark.quick
def test_units_are_installed_enabled_started_published_and_logged(svc, tick):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0"), "tick-worker.timer": TIMER})
    answer = svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service", "tick-worker.timer"],
                      {"enable": ["tick-worker.timer"], "now": True})
    assert answer == {"reply": []}, answer
    state = units_state(svc, "tick-worker.service", "tick-worker.timer")
    assert state["tick-worker.service"] == (SERVICE.format(version="1.0"), "static", "inactive")
    assert state["tick-worker.timer"] == (TIMER, "enabled", "active")
    [addon] = published(svc)
    assert (addon["Addon"], addon["Version"], addon["Units"], addon["Enabled"]) == \
        ("tick", "1.0", ["tick-worker.service", "tick-worker.timer"], ["tick-worker.timer"])
    entry = json.loads(svc.c.run(["journalctl", "MESSAGE_ID=3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a61", "-o", "json", "-n", "1",
                                  "--no-pager"]).stdout)
    assert (entry["LEFT4ME_ADDON"], entry["LEFT4ME_VERSION"], entry["LEFT4ME_UNITS"], entry["LEFT4ME_CALLER_UID"]) \
        == ("tick", "1.0", "tick-worker.service tick-worker.timer", "0")
    svc.wait_for(lambda: "rates its exposure" in svc.c.run(
        ["journalctl", "-o", "cat", "-u", "left4me-builderd.service", "LEFT4ME_ADDON=tick",
         "UNIT=tick-worker.service"]).stdout, what="the exposure line")
    # The service runs as the owner user, as systemd was told.
    svc.c.run(["systemctl", "start", "tick-worker.service"])
    assert svc.unit_property("tick-worker.service", "User") == "left4me"
    # Published again after a restart of the daemon.
    svc.stop_daemon()
    assert published(svc)[0]["Version"] == "1.0"


def test_a_new_version_replaces_the_old_units_and_drops_those_it_no_longer_has(svc, tick):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0"), "tick-worker.timer": TIMER,
                       "tick-extra.service": SERVICE.format(version="extra")})
    svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service", "tick-worker.timer", "tick-extra.service"],
             {"enable": ["tick-worker.timer"], "now": True})
    svc.c.run(["systemctl", "start", "tick-extra.service"])
    stage(svc, "2.0", {"tick-worker.service": SERVICE.format(version="2.0"), "tick-worker.timer": TIMER})
    assert svc.call("InstallUnits", "tick", "2.0", ["tick-worker.service", "tick-worker.timer"],
                    {"enable": ["tick-worker.timer"], "now": True}) == {"reply": []}
    state = units_state(svc, "tick-worker.service", "tick-extra.service")
    assert state["tick-worker.service"][0] == SERVICE.format(version="2.0")
    assert state["tick-extra.service"][0] == ""  # gone
    assert state["tick-extra.service"][2] == "inactive"  # and stopped first
    assert published(svc)[0]["Version"] == "2.0"


def test_a_failed_start_puts_the_previous_units_back_byte_for_byte(svc, tick):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0"), "tick-worker.timer": TIMER})
    svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service", "tick-worker.timer"],
             {"enable": ["tick-worker.timer"], "now": True})
    before = units_state(svc, "tick-worker.service", "tick-worker.timer", "tick-new.service")
    broken = SERVICE.format(version="3.0").replace("/bin/echo tick 3.0", "/bin/false")
    stage(svc, "3.0", {"tick-worker.service": broken, "tick-worker.timer": TIMER, "tick-new.service": broken})
    answer = svc.call("InstallUnits", "tick", "3.0", ["tick-worker.service", "tick-worker.timer", "tick-new.service"],
                      {"enable": ["tick-worker.service", "tick-new.service"], "now": True})
    assert answer.get("error") == ERROR + "Failed", answer
    assert "starting tick-" in answer["message"] and "previous units are back" in answer["message"], answer
    assert units_state(svc, "tick-worker.service", "tick-worker.timer", "tick-new.service") == before
    assert published(svc)[0]["Version"] == "1.0"
    assert svc.c.sh("ls /var/lib/left4me-builder/addon-units").stdout.split() == ["tick.json"]


REFUSED = [
    ("no user", "[Service]\nExecStart=/bin/true\n", "UnitNotAllowed", "no User="),
    ("root", "[Service]\nUser=root\nExecStart=/bin/true\n", "UnitNotAllowed", "User=root"),
    ("other user", "[Service]\nUser=nobody\nExecStart=/bin/true\n", "UnitNotAllowed", "User=nobody"),
    ("plus", "[Service]\nUser=left4me\nExecStart=+/bin/true\n", "UnitNotAllowed", "privileged"),
    ("bang", "[Service]\nUser=left4me\nExecStart=!/bin/true\n", "UnitNotAllowed", "no-setuid"),
    ("permissions start only", "[Service]\nUser=left4me\nPermissionsStartOnly=yes\nExecStartPre=/bin/true\n"
     "ExecStart=/bin/true\n", "UnitNotAllowed", "PermissionsStartOnly="),
    ("groups", "[Service]\nUser=left4me\nSupplementaryGroups=disk\nExecStart=/bin/true\n", "UnitNotAllowed",
     "SupplementaryGroups=disk"),
    ("ambient", "[Service]\nUser=left4me\nAmbientCapabilities=CAP_NET_RAW\nExecStart=/bin/true\n",
     "UnitNotAllowed", "AmbientCapabilities="),
    ("wants another", "[Unit]\nWants=ssh.service\n[Service]\nUser=left4me\nExecStart=/bin/true\n",
     "UnitNotAllowed", "Wants=ssh.service"),
    ("conflicts", "[Unit]\nConflicts=dbus.service\n[Service]\nUser=left4me\nExecStart=/bin/true\n",
     "UnitNotAllowed", "Conflicts=dbus.service"),
    ("alias", "[Service]\nUser=left4me\nExecStart=/bin/true\n[Install]\nAlias=sshd.service\n",
     "UnitNotAllowed", "sshd.service"),
    ("also", "[Service]\nUser=left4me\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
     "Also=ssh.service\n", "UnitNotAllowed", "ssh.service"),
    ("bad setting", "[Service]\nUser=left4me\n", "UnitNotAllowed", "could not load"),
]


@pytest.mark.parametrize("name, text, error, mention", REFUSED, ids=[case[0] for case in REFUSED])
def test_a_unit_that_would_run_as_root_or_reach_beyond_the_addon_is_refused_and_nothing_changes(
        svc, tick, name, text, error, mention):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0")})
    svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service"], {})
    stage(svc, "9.0", {"tick-worker.service": text})
    svc.refused("InstallUnits", "tick", "9.0", ["tick-worker.service"], {"enable": ["tick-worker.service"]},
                error=error, mentions=["tick-worker.service", mention])
    assert published(svc)[0]["Version"] == "1.0"
    assert svc.c.run(["systemctl", "list-units", "--all", "--no-legend", "left4me-check-*"]).stdout.strip() == ""


def test_unit_files_that_are_not_the_addons_to_give_are_refused(svc, tick):
    directory = stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0")})
    svc.c.run(["ln", "-s", f"{directory}/tick-worker.service", f"{directory}/tick-link.service"])
    svc.refused("InstallUnits", "tick", "1.0", ["tick-link.service"], {}, error="InvalidArgument",
                mentions="symlink")
    svc.c.sh(f"cp {directory}/tick-worker.service {directory}/tick-open.service && "
             f"chmod g+w {directory}/tick-open.service")
    svc.refused("InstallUnits", "tick", "1.0", ["tick-open.service"], {}, error="InvalidArgument",
                mentions="writable by its group")
    svc.refused("InstallUnits", "tick", "1.0", ["ssh.service"], {}, error="InvalidArgument",
                mentions="does not start with \"tick-\"")
    # A name that carries the add-on's prefix but is someone else's unit.
    svc.c.sh(f"rm -rf {ADDONS}/systemd && mkdir -p {ADDONS}/systemd/versions/1/units && "
             f"cp {directory}/tick-worker.service {ADDONS}/systemd/versions/1/units/systemd-journald.service && "
             f"chown -R left4me: {ADDONS}/systemd")
    try:
        svc.refused("InstallUnits", "systemd", "1", ["systemd-journald.service"], {}, error="InvalidArgument",
                    mentions="exists already")
    finally:
        svc.c.run(["rm", "-rf", f"{ADDONS}/systemd"])


def test_remove_is_idempotent_and_an_unknown_addon_is_named(svc, tick):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0"), "tick-worker.timer": TIMER})
    svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service", "tick-worker.timer"],
             {"enable": ["tick-worker.timer"], "now": True})
    assert svc.call("RemoveUnits", "tick") == {"reply": []}
    state = units_state(svc, "tick-worker.service", "tick-worker.timer")
    assert state["tick-worker.timer"][0] == "" and state["tick-worker.timer"][2] == "inactive"
    assert state["tick-worker.service"][0] == ""
    assert published(svc) == []
    assert svc.call("RemoveUnits", "tick") == {"reply": []}
    svc.refused("RemoveUnits", "no-such-addon", error="NoSuchAddon", mentions="no-such-addon")


def test_a_daemon_killed_during_an_install_leaves_the_previous_units_for_the_next_one(svc, tick):
    stage(svc, "1.0", {"tick-worker.service": SERVICE.format(version="1.0"), "tick-worker.timer": TIMER})
    svc.call("InstallUnits", "tick", "1.0", ["tick-worker.service", "tick-worker.timer"],
             {"enable": ["tick-worker.timer"], "now": True})
    before = units_state(svc, "tick-worker.service", "tick-worker.timer")
    # Version 2's timer start waits on a unit that never finishes, so the
    # daemon is caught mid-install: new files written and enabled.
    stage(svc, "2.0", {"tick-worker.service": SERVICE.format(version="2.0"),
                       "tick-worker.timer": TIMER.replace("[Timer]", "[Unit]\nAfter=tick-hold.service\n"
                                                          "Wants=tick-hold.service\n[Timer]"),
                       "tick-hold.service": "[Service]\nUser=left4me\nType=oneshot\nExecStart=/bin/sleep 600\n"})
    caller = svc.c.popen(["busctl", "call", "--timeout=120", "org.left4me.Builder", "/org/left4me/Builder",
                          "org.left4me.Builder", "InstallUnits", "ssasa{sv}", "tick", "2.0", "3",
                          "tick-worker.service", "tick-worker.timer", "tick-hold.service", "2",
                          "enable", "as", "1", "tick-worker.timer", "now", "b", "true"])
    try:
        svc.wait_for(lambda: svc.c.run(["systemctl", "is-active", "tick-hold.service"], check=False).stdout.strip()
                     == "activating", what="the install to start its units")
        assert svc.c.run(["cat", f"{UNITS}/tick-worker.service"]).stdout == SERVICE.format(version="2.0")
        pid = svc.c.run(["systemctl", "show", "-P", "MainPID", "left4me-builderd.service"]).stdout.strip()
        svc.c.run(["kill", "-9", pid])
    finally:
        caller.wait(30)
    # Restart=on-failure brings it back; it puts version 1 back.
    svc.wait_for(lambda: svc.is_active() == "active", timeout=15, what="the daemon to restart")
    svc.wait_for(lambda: svc.c.sh("ls /var/lib/left4me-builder/addon-units").stdout.split() == ["tick.json"],
                 timeout=30, what="the intent to be settled")
    assert units_state(svc, "tick-worker.service", "tick-worker.timer") == before
    assert svc.c.run(["cat", f"{UNITS}/tick-hold.service"], check=False).returncode != 0
    assert svc.c.run(["systemctl", "is-active", "tick-hold.service"], check=False).stdout.strip() != "activating"
    assert published(svc)[0]["Version"] == "1.0"
    journal = svc.c.run(["journalctl", "-o", "cat", "-u", "left4me-builderd.service", "LEFT4ME_ADDON=tick"]).stdout
    assert "putting its previous units back" in journal
