"""Game servers without sudo: the web app's user (bob, in the group left4me)
starts, stops, restarts and reloads instances of left4me-server@.service
through systemd's own polkit action, granted by the shipped example rule
70-left4me-servers.rules, enables and disables them at boot through the
daemon (EnableServer, DisableServer; the same file's second rule), and
reads their output through the shipped log drop-in, never through the
journal.

The template is a stand-in (a shell that prints and sleeps): what is under
test is systemd 252's polkit details, the rule, and the file permissions.
Only the shipped example rules are in /etc/polkit-1/rules.d. Every refusal
must be quick and leave the unit as it was.
"""

import json
import os
import secrets
import time

import pytest

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLES = "/usr/share/doc/left4me-builderd/examples"
RULES_D = "/etc/polkit-1/rules.d"
UNITS = "/etc/systemd/system"
DROPIN = f"{UNITS}/left4me-server@.service.d/logs.conf"
TMPFILES = "/etc/tmpfiles.d/left4me-server-logs.conf"
LOGS = "/var/log/left4me-server"
WEB = "bob"  # in the group left4me (conftest)
SYSTEMD = ["org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"]
# What systemctl and busctl print when polkit refuses a caller without an agent.
REFUSAL = "Interactive authentication required"


def stand_in(what):
    """A template that prints a line on stdout and one on stderr, then
    sleeps; enabling it would link it into multi-user.target."""
    return (f"[Unit]\nDescription=stand-in {what} %i\n"
            "[Service]\n"
            f"ExecStart=/bin/sh -c 'echo \"{what} %i up\"; echo \"{what} %i warming up\" >&2; exec sleep infinity'\n"
            "ExecReload=/bin/true\n"
            "[Install]\nWantedBy=multi-user.target\n")


@pytest.fixture(scope="module")
def servers(container):
    c = container
    try:
        shipped = c.sh(f"ls {EXAMPLES}/*.rules").stdout.split()
        assert f"{EXAMPLES}/70-left4me-servers.rules" in shipped
        c.sh(f"rm -f {RULES_D}/*.rules && cp {' '.join(shipped)} {RULES_D}/")
        assert c.sh(f"ls {RULES_D}").stdout.split() == [os.path.basename(rules) for rules in shipped]
        c.write(f"{UNITS}/left4me-server@.service", stand_in("server"))
        # Another template whose name starts like ours.
        c.write(f"{UNITS}/left4me-server-admin@.service", stand_in("admin"))
        c.run(["install", "-D", "-m", "0644", f"{EXAMPLES}/left4me-server-logs.conf", DROPIN])
        c.run(["install", "-m", "0644", f"{EXAMPLES}/left4me-server-logs.tmpfiles", TMPFILES])
        c.run(["systemd-tmpfiles", "--create", TMPFILES])
        c.run(["systemctl", "daemon-reload"])
        c.sh("id jo >/dev/null 2>&1 || useradd --groups systemd-journal jo")
        wait_for_rules(c)
        yield c
    finally:
        # A build unit only if a refusal failed; stopped as conftest's svc does.
        c.sh("systemctl stop 'left4me-server@*.service' 'left4me-server-admin@*.service' 'left4me-build@*.service'; "
             "systemctl reset-failed 'left4me-server@*' 'left4me-server-admin@*'; "
             f"rm -rf {RULES_D}/*.rules {UNITS}/left4me-server@.service {UNITS}/left4me-server-admin@.service "
             f"{os.path.dirname(DROPIN)} {TMPFILES} {LOGS}; systemctl daemon-reload", check=False)


def wait_for_rules(c, timeout=10):
    """polkitd reloads rules.d on an inotify event: wait until it grants the
    web app's user a start (asked with pkcheck, which changes nothing)."""
    # The pid is printed once the process is bob's: polkit authorizes root
    # for anything, so asking about it any earlier would prove nothing.
    probe = c.popen(["sh", "-c", "echo $$; exec sleep 30"], user=WEB)
    pid = probe.stdout.readline().strip()
    try:
        deadline = time.monotonic() + timeout
        while c.run(["pkcheck", "-a", "org.freedesktop.systemd1.manage-units", "-p", pid,
                     "-d", "unit", "left4me-server@probe.service", "-d", "verb", "start"],
                    check=False).returncode != 0:
            assert time.monotonic() < deadline, "polkitd did not load the example rules"
            time.sleep(0.1)
    finally:
        c.run(["kill", pid], check=False)
        probe.wait()


def state(c, unit):
    """What a call could change about UNIT: running, its process, enabled."""
    shown = c.run(["systemctl", "show", "--property=ActiveState,MainPID,UnitFileState", unit]).stdout
    return dict(line.split("=", 1) for line in shown.splitlines() if line)


def as_web(c, *argv, user=WEB):
    """Runs ARGV as the web app's user; returns the result and its duration."""
    started = time.monotonic()
    result = c.run(list(argv), user=user, check=False, timeout=30)
    return result, time.monotonic() - started


def allowed(c, *argv):
    result, _ = as_web(c, *argv)
    assert result.returncode == 0, result.stderr
    return result


def refused(c, unit, *argv):
    """ARGV, run by the web app, is refused by polkit at once, and UNIT is as it was."""
    before = state(c, unit)
    result, took = as_web(c, *argv)
    assert result.returncode != 0, f"{argv} was allowed"
    assert REFUSAL in result.stderr, result.stderr
    assert took < 5, f"{argv} took {took:.1f} s to be refused"
    assert state(c, unit) == before


def systemctl(*args):
    return ["systemctl", "--no-ask-password", *args]


def busctl(method, signature, *args):
    return ["busctl", "call", *SYSTEMD, method, signature, *args]


def test_the_web_app_starts_restarts_reloads_and_stops_a_server_instance(servers):
    c = servers
    unit = "left4me-server@1.service"
    allowed(c, *systemctl("start", unit))
    started = state(c, unit)
    assert started["ActiveState"] == "active"
    allowed(c, *systemctl("restart", unit))
    restarted = state(c, unit)
    assert restarted["ActiveState"] == "active" and restarted["MainPID"] != started["MainPID"]
    allowed(c, *systemctl("reload", unit))  # systemctl waits: 0 means ExecReload= ran and succeeded
    assert state(c, unit) == restarted
    allowed(c, *systemctl("stop", unit))
    assert state(c, unit)["ActiveState"] == "inactive"


def test_the_web_app_starts_and_stops_a_server_instance_with_busctl(servers):
    c = servers
    unit = "left4me-server@game-2.eu.service"
    allowed(c, *busctl("StartUnit", "ss", unit, "replace"))
    deadline = time.monotonic() + 10
    while state(c, unit)["ActiveState"] != "active":
        assert time.monotonic() < deadline, "the instance did not start"
        time.sleep(0.05)
    allowed(c, *busctl("StopUnit", "ss", unit, "replace"))
    deadline = time.monotonic() + 10
    while state(c, unit)["ActiveState"] != "inactive":
        assert time.monotonic() < deadline, "the instance did not stop"
        time.sleep(0.05)


@pytest.mark.parametrize("unit", [
    "ssh.service",
    "systemd-hostnamed.service",
    "left4me-builderd.service",
    "left4me-build@1.service",
    "left4me-server-admin@1.service",  # another template, with our name as its prefix
])
def test_any_other_unit_is_refused(servers, unit):
    c = servers
    if unit == "left4me-builderd.service":  # not running, so that no idle exit changes its state meanwhile
        c.run(["systemctl", "stop", unit])
    for verb in ("start", "restart"):
        refused(c, unit, *systemctl(verb, unit))
    # Without --no-ask-password too: with no terminal, systemctl asks no agent.
    refused(c, unit, "systemctl", "start", unit)
    refused(c, unit, *busctl("StartUnit", "ss", unit, "replace"))


def test_stopping_the_daemon_itself_is_refused(servers):
    c = servers
    c.run(["systemctl", "restart", "left4me-builderd.service"])  # 30 s before its idle exit
    refused(c, "left4me-builderd.service", *systemctl("stop", "left4me-builderd.service"))
    refused(c, "left4me-builderd.service", *busctl("StopUnit", "ss", "left4me-builderd.service", "replace"))


@pytest.mark.parametrize("instance", [
    "a\\x2fb",   # an escape: %I would be "a/b"
    "-x",        # not a letter or digit first
    "x:y",       # valid for systemd, not a daemon instance name
    "x" * 65,    # too long
])
def test_a_malformed_instance_name_is_refused(servers, instance):
    unit = f"left4me-server@{instance}.service"
    refused(servers, unit, *systemctl("start", unit))


@pytest.mark.parametrize("verb", ["enable", "mask", "disable", "unmask"])
def test_enabling_or_masking_a_server_instance_is_refused(servers, verb):
    c = servers
    unit = "left4me-server@1.service"
    if verb in ("disable", "unmask"):  # only meaningful on an enabled or masked unit
        c.run(["systemctl", "enable" if verb == "disable" else "mask", unit])
    try:
        refused(c, unit, *systemctl(verb, unit))
    finally:
        c.run(["systemctl", "unmask", unit])
        c.run(["systemctl", "disable", unit])
    assert c.run(["systemctl", "is-enabled", unit], check=False).stdout.strip() == "disabled"


def test_enabling_through_the_bus_is_refused(servers):
    unit = "left4me-server@1.service"
    refused(servers, unit, *busctl("EnableUnitFiles", "asbb", "1", unit, "false", "false"))
    refused(servers, unit, *busctl("LinkUnitFiles", "asbb", "1", f"{UNITS}/left4me-server@.service", "false", "true"))


@pytest.mark.parametrize("argv", [
    ["try-restart"], ["reload-or-restart"], ["kill"], ["set-property", "--runtime"],
], ids=lambda argv: argv[0])
def test_verbs_beyond_start_stop_restart_and_reload_are_refused_on_a_running_instance(servers, argv):
    c = servers
    unit = "left4me-server@3.service"
    c.run(["systemctl", "start", unit])
    try:
        extra = ["CPUWeight=7"] if argv[0] == "set-property" else []
        refused(c, unit, *systemctl(*argv, unit, *extra))
        assert c.run(["systemctl", "show", "-P", "CPUWeight", unit]).stdout.strip() != "7"
    finally:
        c.run(["systemctl", "stop", unit])


def test_a_user_outside_the_group_is_refused(servers):
    unit = "left4me-server@1.service"
    before = state(servers, unit)
    result, _ = as_web(servers, *systemctl("start", unit), user="alice")
    assert result.returncode != 0 and REFUSAL in result.stderr
    assert state(servers, unit) == before


def test_the_web_app_reads_its_servers_log_file_and_no_journal(servers):
    c = servers
    unit = "left4me-server@log1.service"
    log = f"{LOGS}/log1.log"
    marker = "marker-" + secrets.token_hex(8)
    c.run(["systemd-run", "--wait", "--quiet", "--unit=left4me-test-marker", "echo", marker])
    allowed(c, *systemctl("start", unit))
    try:
        deadline = time.monotonic() + 10
        while "warming up" not in c.run(["cat", log], user=WEB, check=False).stdout:
            assert time.monotonic() < deadline, "the server's lines never reached its log file"
            time.sleep(0.05)
        assert c.run(["cat", log], user=WEB).stdout.splitlines() == ["server log1 up", "server log1 warming up"]
        # Read, not write: the log is the server's account, not the web app's.
        assert c.run(["sh", "-c", f"echo forged >> {log}"], user=WEB, check=False).returncode != 0
        assert c.run(["rm", "-f", log], user=WEB, check=False).returncode != 0
        # Nobody outside the group reads it.
        assert "Permission denied" in c.run(["cat", log], user="alice", check=False).stderr
        # The output is in the file, not in the journal.
        journal = c.run(["journalctl", "--no-pager", "-o", "cat", "-u", unit]).stdout
        assert "server log1 up" not in journal
        # The group systemd-journal would read every unit's entries, the
        # marker among them; the web app reads none.
        wait_in_journal(c, marker)
        assert marker in c.run(["journalctl", "--no-pager", "-o", "cat"], user="jo").stdout
        own = c.run(["journalctl", "--no-pager", "-o", "cat"], user=WEB, check=False)
        assert marker not in own.stdout and "left4me-server@log1" not in own.stdout
    finally:
        allowed(c, *systemctl("stop", unit))


def wait_in_journal(c, text, timeout=10):
    deadline = time.monotonic() + timeout
    while text not in c.run(["journalctl", "--no-pager", "-o", "cat", "-u", "left4me-test-marker"]).stdout:
        assert time.monotonic() < deadline, f"{text} never reached the journal"
        time.sleep(0.05)


def test_the_readme_shows_the_shipped_log_drop_in_verbatim():
    with open(os.path.join(SOURCE, "README.md")) as readme, \
            open(os.path.join(SOURCE, "systemd/examples/left4me-server-logs.conf")) as dropin:
        text = readme.read()
        settings = [line for line in dropin.read().splitlines() if line and not line.startswith("#")]
    assert "\n".join(settings) in text


# -- enabling at boot, through the daemon -----------------------------------

ENABLED_ID = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a63"
DISABLED_ID = "3e1f0a5c6b7d4e2f9a8b1c0d2e3f4a64"
TEMPLATE = f"{UNITS}/left4me-server@.service"


def unit_files(c):
    """Everything enabling or disabling could change: each file and link of
    systemd's configuration (with its target), and systemd's own list."""
    links = c.sh("find /etc/systemd/system /run/systemd/system -printf '%p -> %l\\n' 2>/dev/null | sort; true").stdout
    listed = c.run(["systemctl", "list-unit-files", "--no-legend", "--no-pager"]).stdout
    return set(links.splitlines()), listed


def ctl(c, *args, user=WEB):
    return c.run(["left4me-builderctl", "--no-ask-password", *args], user=user, check=False, timeout=60)


def is_enabled(c, unit):
    return c.run(["systemctl", "is-enabled", unit], check=False).stdout.strip()


def journal_entry(c, message_id, unit):
    """The daemon's journal entry MESSAGE_ID about UNIT, once it is there."""
    deadline = time.monotonic() + 10
    while True:
        out = c.run(["journalctl", f"MESSAGE_ID={message_id}", f"UNIT={unit}", "-o", "json", "-n", "1",
                     "--no-pager"]).stdout
        if out.strip():
            return json.loads(out)
        assert time.monotonic() < deadline, f"no journal entry {message_id} for {unit}"
        time.sleep(0.1)


def refused_call(svc, method, *args, error, mentions=(), user=WEB):
    """METHOD is refused with ERROR, and no unit file, link or unit changed."""
    before = unit_files(svc.c)
    svc.refused(method, *args, error=error, mentions=mentions, user=user)
    assert unit_files(svc.c) == before


@pytest.mark.quick
def test_the_web_app_enables_a_server_at_boot_and_starts_it_then_disables_and_stops_it(servers, svc):
    c = servers
    unit = "left4me-server@boot1.service"
    before, _ = unit_files(c)
    try:
        run = ctl(c, "--json", "server", "enable", "boot1", "--now")
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == {"unit": unit, "instance": "boot1", "enabled": True, "started": True}
        assert is_enabled(c, unit) == "enabled"
        assert state(c, unit)["ActiveState"] == "active"
        # The instance's own link, and nothing else.
        after, _ = unit_files(c)
        assert after - before == {f"{UNITS}/multi-user.target.wants/{unit} -> {TEMPLATE}"}
        assert before - after == set()
        bob = c.run(["id", "-u", WEB]).stdout.strip()
        entry = journal_entry(c, ENABLED_ID, unit)
        assert (entry["LEFT4ME_CALLER_UID"], entry["LEFT4ME_NOW"], entry["OBJECT_SYSTEMD_UNIT"]) == (bob, "1", unit)

        run = ctl(c, "server", "disable", "boot1", "--now")
        assert run.returncode == 0 and run.stdout == unit + "\n", run.stderr
        assert is_enabled(c, unit) == "disabled"
        assert state(c, unit)["ActiveState"] == "inactive"
        assert unit_files(c)[0] == before
        assert journal_entry(c, DISABLED_ID, unit)["LEFT4ME_CALLER_UID"] == bob
        # Again: already disabled and stopped, so it succeeds and changes nothing.
        assert ctl(c, "server", "disable", "boot1", "--now").returncode == 0
        assert unit_files(c)[0] == before
    finally:
        c.run(["systemctl", "disable", "--now", unit], check=False)


@pytest.mark.quick
def test_enabling_without_now_starts_nothing_and_enabling_twice_changes_nothing(servers, svc):
    c = servers
    unit = "left4me-server@boot2.service"
    try:
        assert svc.call("EnableServer", "", "boot2", {}, user=WEB) == {"reply": [unit]}
        assert is_enabled(c, unit) == "enabled"
        assert state(c, unit)["ActiveState"] == "inactive"
        links = unit_files(c)
        assert svc.call("EnableServer", "left4me-server@.service", "boot2", {}, user=WEB) == {"reply": [unit]}
        assert unit_files(c) == links
        assert svc.call("DisableServer", "", "boot2", {}, user=WEB) == {"reply": [unit]}
        assert is_enabled(c, unit) == "disabled"
    finally:
        c.run(["systemctl", "disable", unit], check=False)


@pytest.mark.quick
@pytest.mark.parametrize("template", [
    "ssh.service",
    "left4me-builderd.service",
    "left4me-build@.service",
    "left4me-server-admin@.service",  # another template, with our name as its prefix
])
def test_enabling_or_disabling_anything_but_a_configured_template_is_refused(servers, svc, template):
    for method in ("EnableServer", "DisableServer"):
        refused_call(svc, method, template, "1", {"now": True}, error="InvalidArgument",
                     mentions=["Argument template", "server_templates: left4me-server@.service"])


@pytest.mark.quick
@pytest.mark.parametrize("instance", ["", "..", "a/b", "../../ssh", "a\\x2fb", "-x", "x:y", "x y", "x" * 65])
def test_a_bad_instance_name_is_refused_and_nothing_changes(servers, svc, instance):
    refused_call(svc, "EnableServer", "", instance, {"now": True}, error="InvalidArgument",
                 mentions="Argument instance")


@pytest.mark.quick
def test_a_user_outside_the_group_is_refused_by_polkit(servers, svc):
    for method in ("EnableServer", "DisableServer"):
        refused_call(svc, method, "", "1", {"now": True}, error="NotAuthorized", user="alice")


@pytest.fixture
def more_templates(servers, svc):
    """server_templates lists, besides the shipped one, another template, a
    missing one, one with an Also= and one without [Install]."""
    c = servers
    c.write(f"{UNITS}/left4me-also@.service",
            stand_in("also").replace("[Install]\n", "[Install]\nAlso=left4me-extra.service\n"))
    c.write(f"{UNITS}/left4me-extra.service", stand_in("extra").replace("%i", "x"))
    c.write(f"{UNITS}/left4me-static@.service", stand_in("static").split("[Install]")[0])
    c.run(["systemctl", "daemon-reload"])
    svc.set_config({"server_templates": ["left4me-server@.service", "left4me-server-admin@.service",
                                         "left4me-gone@.service", "left4me-also@.service",
                                         "left4me-static@.service"]})
    yield svc
    c.sh("systemctl disable left4me-server-admin@1.service; "
         f"rm -f {UNITS}/left4me-also@.service {UNITS}/left4me-extra.service {UNITS}/left4me-static@.service; "
         "systemctl daemon-reload", check=False)


def test_the_shipped_rule_grants_the_web_app_its_template_only(more_templates):
    svc = more_templates
    refused_call(svc, "EnableServer", "left4me-server-admin@.service", "1", {}, error="NotAuthorized")
    # Configured, so root may.
    assert svc.call("EnableServer", "left4me-server-admin@.service", "1", {}) == \
        {"reply": ["left4me-server-admin@1.service"]}
    assert is_enabled(svc.c, "left4me-server-admin@1.service") == "enabled"


def test_an_instance_is_loaded_and_checked_before_anything_is_linked(more_templates):
    svc = more_templates
    # As root, whom polkit allows everything: the daemon's own checks.
    refused_call(svc, "EnableServer", "left4me-gone@.service", "1", {"now": True}, error="InvalidArgument",
                 mentions="There is no unit file for left4me-gone@.service", user=None)
    refused_call(svc, "EnableServer", "left4me-static@.service", "1", {"now": True}, error="InvalidArgument",
                 mentions="has no [Install] section", user=None)
    # Disabling an instance of a template that is gone: nothing to do.
    assert svc.call("DisableServer", "left4me-gone@.service", "1", {"now": True}) == \
        {"reply": ["left4me-gone@1.service"]}


def test_a_template_that_links_another_unit_has_every_link_taken_back(more_templates):
    svc = more_templates
    # Also= links a second unit: the call takes back every link it made.
    refused_call(svc, "EnableServer", "left4me-also@.service", "1", {"now": True}, error="InvalidArgument",
                 mentions=f"would also link {UNITS}/multi-user.target.wants/left4me-extra.service", user=None)
    assert state(svc.c, "left4me-also@1.service")["ActiveState"] == "inactive"


@pytest.mark.parametrize("target, mentions", [
    (f"{UNITS}/left4me-server-admin@.service", "is an alias of left4me-server-admin@alias.service"),
    # systemd 252 loads the template for the name, but calls the link bad.
    ("/lib/systemd/system/ssh.service", 'unit file state is "bad"'),
], ids=["another-template", "ssh"])
def test_an_instance_name_that_is_another_units_is_refused(servers, svc, target, mentions):
    """A link named like an instance (left4me-server@alias.service) makes
    that name another unit's: enabling or disabling it would act on that
    unit, so both are refused with nothing changed."""
    c = servers
    alias = f"{UNITS}/left4me-server@alias.service"
    c.run(["ln", "-s", target, alias])
    c.run(["systemctl", "daemon-reload"])
    try:
        for method in ("EnableServer", "DisableServer"):
            refused_call(svc, method, "", "alias", {"now": True}, error="InvalidArgument",
                         mentions=["left4me-server@alias.service", mentions])
    finally:
        c.run(["rm", "-f", alias])
        c.run(["systemctl", "daemon-reload"])
