"""The authorization matrix. Every method in the XML is called with valid
arguments by four callers:

- root;
- gina, whose groups rules.d files grant every action (the shipped example
  rules for build, cancel-other, mount, apply-caps and manage-units);
- alice, a plain user;
- alice again, disconnecting as soon as the call has left (the shape of
  CVE-2021-3560, where polkit mistook a vanished caller for root).

Each case has one exact expected outcome. A refusal must leave no trace:
no file, xattr, mount, unit or job changes. A method added to the XML
without a row here fails the first test, so no method ships unchecked.
"""

import os
import xml.etree.ElementTree as ET

import pytest

from conftest import ERROR

HERE = os.path.dirname(os.path.abspath(__file__))
XML = os.path.join(HERE, "..", "..", "dbus", "org.left4me.Builder.xml")
EXAMPLES = "/usr/share/doc/left4me-builderd/examples"
L4M = "/var/lib/left4me"
JOB_IFACE = "org.left4me.Builder.Job"

CALLERS = ["root", "granted", "plain", "disconnecting"]
USERS = {"root": None, "granted": "gina", "plain": "alice", "disconnecting": "alice"}


def grant(svc):
    svc.c.sh("getent group left4me-caps >/dev/null || groupadd left4me-caps; "
             "getent group left4me-mount >/dev/null || groupadd left4me-mount; "
             "getent group left4me-addons >/dev/null || groupadd left4me-addons; "
             "id gina >/dev/null 2>&1 || useradd --groups left4me,left4me-caps,left4me-mount,left4me-addons gina")
    with svc.polkit_reload():
        svc.c.run(["cp", f"{EXAMPLES}/50-left4me-builder.rules", "/etc/polkit-1/rules.d/50-test-authz.rules"])
        svc.c.run(["cp", f"{EXAMPLES}/60-left4me-builder-caps.rules", "/etc/polkit-1/rules.d/60-test-authz.rules"])
        svc.c.run(["cp", f"{EXAMPLES}/55-left4me-builder-mount.rules", "/etc/polkit-1/rules.d/55-test-authz.rules"])
        svc.c.run(["cp", f"{EXAMPLES}/65-left4me-addon-units.rules", "/etc/polkit-1/rules.d/65-test-authz.rules"])
        svc.c.run(["cp", f"{EXAMPLES}/70-left4me-servers.rules", "/etc/polkit-1/rules.d/70-test-authz.rules"])


def refused_calls(svc):
    """How many refusals the daemon has logged (grep -c prints 0 on none)."""
    return int(svc.c.sh("journalctl -u left4me-builderd.service -o cat --no-pager | grep -c '^Refused'; true").stdout)


def running_build(svc, overlay):
    svc.overlay(overlay)
    job = svc.call("StartBuild", overlay, "sleep 60", {})["reply"][0]
    unit = "left4me-build@" + job.rsplit("/", 1)[1] + ".service"
    svc.wait_for(lambda: svc.unit_property(unit, "ActiveState") == "active", what="the build to run")
    return job, unit


def stopped(svc, unit):
    svc.wait_for(lambda: svc.unit_property(unit, "ActiveState") in ("inactive", "failed", ""), what=f"{unit} to stop")
    return True


def mounted(svc, instance):
    return f"{L4M}/runtime/{instance}/merged" in svc.c.sh("findmnt --task 1 -n -r -o TARGET; true").stdout


# -- one row per method: set the scene, the call, and proof that it acted ----

def start_build(svc):
    svc.overlay("authz")
    return {"args": ["authz", "echo built", {}],
            "acted": lambda answer: svc.c.sh(f"ls /var/lib/left4me-builder/jobs/{answer['reply'][0].rsplit('/', 1)[1]}")}


def cancel(svc):
    job, unit = running_build(svc, "authz-victim")
    return {"args": [job], "acted": lambda answer: stopped(svc, unit)}


def job_cancel(svc):
    job, unit = running_build(svc, "authz-victim")
    return {"args": [], "path": job, "iface": JOB_IFACE, "signature": "()", "acted": lambda answer: stopped(svc, unit)}


def read_log(svc):
    svc.overlay("authz-log")
    job = svc.build("authz-log", "echo the-log-line")["properties"]["Id"]
    return {"args": [0, 10], "path": f"/org/left4me/Builder/job/{job}", "iface": JOB_IFACE,
            "acted": lambda answer: answer["reply"] == [1, ["the-log-line"]]}


def mount(svc):
    svc.c.sh(f"mkdir -p {L4M}/overlays/authz-layer && chown left4me: {L4M}/overlays/authz-layer")
    return {"args": ["authz1", [f"{L4M}/overlays/authz-layer"], {}], "acted": lambda answer: mounted(svc, "authz1")}


def unmount(svc):
    mount(svc)
    assert svc.call("Mount", "authz1", [f"{L4M}/overlays/authz-layer"], {}) == {"reply": [f"{L4M}/runtime/authz1/merged"]}
    return {"args": ["authz1"], "acted": lambda answer: not mounted(svc, "authz1")}


def apply_caps(svc):
    svc.c.sh(f"rm -rf {L4M}/addons/authz && mkdir -p {L4M}/addons/authz/versions/1.0/bin && "
             f"cp /usr/bin/true {L4M}/addons/authz/versions/1.0/bin/probe")
    probe = f"{L4M}/addons/authz/versions/1.0/bin/probe"
    return {"args": ["authz", "1.0", "bin/probe", ["cap_net_raw"], {}],
            "acted": lambda answer: "cap_net_raw=ep" in svc.c.run(["getcap", probe]).stdout}


def install_units(svc):
    svc.c.sh(f"rm -rf {L4M}/addons/authzu && mkdir -p {L4M}/addons/authzu/versions/1.0/units && "
             f"printf '[Service]\\nUser=left4me\\nExecStart=/bin/true\\n' "
             f"> {L4M}/addons/authzu/versions/1.0/units/authzu-tick.service && chown -R left4me: {L4M}/addons/authzu")
    return {"args": ["authzu", "1.0", ["authzu-tick.service"], {}],
            "acted": lambda answer: svc.c.run(["test", "-f", "/etc/systemd/system/authzu-tick.service"],
                                              check=False).returncode == 0}


def remove_units(svc):
    install_units(svc)
    assert svc.call("InstallUnits", "authzu", "1.0", ["authzu-tick.service"], {}) == {"reply": []}
    return {"args": ["authzu"],
            "acted": lambda answer: svc.c.run(["test", "-e", "/etc/systemd/system/authzu-tick.service"],
                                              check=False).returncode != 0}
SERVER_TEMPLATE = ("[Service]\nExecStart=/bin/sleep infinity\n"
                   "[Install]\nWantedBy=multi-user.target\n")
SERVER = "left4me-server@authz.service"


def server_enabled(svc, enabled):
    """A stand-in left4me-server@.service, its instance authz enabled at
    boot or not."""
    svc.c.write("/etc/systemd/system/left4me-server@.service", SERVER_TEMPLATE)
    svc.c.run(["systemctl", "daemon-reload"])
    svc.c.run(["systemctl", "enable" if enabled else "disable", SERVER])


def is_enabled(svc):
    return svc.c.run(["systemctl", "is-enabled", SERVER], check=False).stdout.strip()


def enable_server(svc):
    server_enabled(svc, False)
    return {"args": ["", "authz", {}], "acted": lambda answer: is_enabled(svc) == "enabled"}


def disable_server(svc):
    server_enabled(svc, True)
    return {"args": ["", "authz", {}], "acted": lambda answer: is_enabled(svc) == "disabled"}


# What each caller gets: None is success; anything else is the error's name.
# ReadLog is public on purpose (see SECURITY.md: the Log signal is broadcast
# anyway), so everyone may call it.
MATRIX = {
    "org.left4me.Builder.StartBuild": (start_build, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.Cancel": (cancel, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.Mount": (mount, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.Unmount": (unmount, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.ApplyCaps": (apply_caps, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.InstallUnits": (install_units, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.RemoveUnits": (remove_units, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.EnableServer": (enable_server, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.DisableServer": (disable_server, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.Job.Cancel": (job_cancel, {"root": None, "granted": None, "plain": "NotAuthorized"}),
    "org.left4me.Builder.Job.ReadLog": (read_log, {"root": None, "granted": None, "plain": None}),
}


@pytest.mark.quick
def test_every_method_in_the_xml_has_a_row_in_the_matrix():
    methods = {f"{interface.get('name')}.{method.get('name')}"
               for interface in ET.parse(XML).getroot().iter("interface") for method in interface.iter("method")}
    assert methods == set(MATRIX), f"unchecked: {methods - set(MATRIX)}; stale: {set(MATRIX) - methods}"


@pytest.mark.quick
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_authorization_matrix(svc, name, caller):
    scene, outcomes = MATRIX[name]
    grant(svc)
    case = scene(svc)
    method = name.rsplit(".", 1)[1]
    where = {key: case.get(key) for key in ("path", "iface", "signature")}
    # Running already: dbus-daemon drops a call queued for activation once
    # its sender is gone, and that would prove nothing.
    svc.call("Unmount", "authz-nothing")
    before = svc.snapshot()
    try:
        if caller == "disconnecting":
            refusals = refused_calls(svc)
            svc.call(method, *case["args"], user=USERS[caller], disconnect=True, **where)
            if outcomes["plain"] is None:
                # Nothing to authorize, so nothing polkit could mistake: the
                # daemon answers into the void at once, before it reads the
                # next call (the bus keeps their order), and serves on.
                assert svc.call("Unmount", "authz-nothing")["error"] == ERROR + "NotMounted"
                return
            # The daemon has asked polkit and answered into the void.
            svc.wait_for(lambda: refused_calls(svc) == refusals + 1, what="the call to reach the daemon")
            assert svc.snapshot() == before, "a vanished caller's call had an effect"
            # And the daemon still serves.
            assert svc.call("Unmount", "authz-nothing")["error"] == ERROR + "NotMounted"
            return
        answer = svc.call(method, *case["args"], user=USERS[caller], **where)
        expected = outcomes[caller]
        if expected is None:
            assert "error" not in answer, answer
            assert case["acted"](answer), answer
        else:
            assert answer.get("error") == ERROR + expected, answer
            assert "org.left4me.builder." in answer["message"], answer
            assert svc.snapshot() == before, f"a refused {name} had an effect"
    finally:
        svc.call("Unmount", "authz1")
        svc.call("RemoveUnits", "authzu")
        if "Server" in name:
            # The stand-in template goes too: later tests (the hostile
            # corpus) rely on there being none.
            svc.c.sh(f"systemctl disable {SERVER}; rm -f /etc/systemd/system/left4me-server@.service; "
                     "systemctl daemon-reload")
