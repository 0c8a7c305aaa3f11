"""The web app's whole day, as its user, with no sudo on the machine.

The admin does what the README's "The web app's groups and rules" says, by
running that very block: it copies the shipped example rules, and nothing
else, into /etc/polkit-1/rules.d and puts the web app's user, the owner user
left4me, in the groups it names. Then left4me, through the Python client and
systemctl as the web app calls them, builds, mounts, starts a game server
(a stand-in template an admin installed), applies capabilities, installs an
add-on's units with enable and now, stops the server, unmounts and removes
the units. Each step checks what it really changed, outside the client: the
built file, PID 1's mount table, the server's process, the file's
capabilities, the units systemd runs, the unit files gone. If the README's
block is not enough for the day, the README is what is wrong.
"""

import os
import re
import textwrap
import time

import pytest

from conftest import PYTHON

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLES = "/usr/share/doc/left4me-builderd/examples"
RULES_D = "/etc/polkit-1/rules.d"
UNITS = "/etc/systemd/system"
L4M = "/var/lib/left4me"
WEB = "left4me"
# What the README grants the web app's user, and not one group more.
WEB_GROUPS = {"left4me", "left4me-mount", "left4me-caps", "left4me-addons"}

INSTANCE = "day1"
MERGED = f"{L4M}/runtime/{INSTANCE}/merged"
SERVER = f"left4me-server@{INSTANCE}.service"
# The admin's game-server template: a stand-in that runs in the instance's
# mount, as the servers do.
TEMPLATE = ("[Unit]\nDescription=stand-in game server %i\nRequiresMountsFor=/var/lib/left4me/runtime/%i/merged\n"
            "[Service]\nUser=left4me\nWorkingDirectory=/var/lib/left4me/runtime/%i/merged\n"
            "ExecStart=/bin/sleep infinity\n")
ADDON_UNIT = "scoreboard-sync.service"
ADDON_UNIT_TEXT = ("[Unit]\nDescription=scoreboard sync\n[Service]\nUser=left4me\nExecStart=/bin/sleep infinity\n"
                   "[Install]\nWantedBy=multi-user.target\n")


def readme_block():
    """The shell block of the README's section on the web app's groups and rules."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        readme = f.read()
    section = readme.split("### The web app's groups and rules\n", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def web(c, code):
    """Runs CODE with the Python client, as the web app's user."""
    return c.run([PYTHON, "-c", "import json\nfrom left4me_builder import *\n" + textwrap.dedent(code)],
                 user=WEB).stdout


def web_writes(c, path, text):
    """The web app's user writes PATH, as it stages files: its own, 0644."""
    c.run(["sh", "-c", f"mkdir -p {os.path.dirname(path)} && cat > {path} && chmod 0644 {path}"], user=WEB,
          input=text)


def mount_of(c, target):
    """PID 1's mount table entry for TARGET: (file system type, options), or None."""
    for line in c.run(["cat", "/proc/1/mountinfo"]).stdout.splitlines():
        fields, _, after = line.partition(" - ")
        if fields.split()[4] == target:
            return after.split()[0], fields.split()[5]
    return None


def unit(c, name, *props):
    shown = c.run(["systemctl", "show", "--property=" + ",".join(props), name]).stdout
    return dict(line.split("=", 1) for line in shown.splitlines() if line)


def process(c, pid):
    """Who process PID runs as, and where."""
    return (c.run(["stat", "-c", "%U", f"/proc/{pid}"]).stdout.strip(),
            c.run(["readlink", f"/proc/{pid}/cwd"]).stdout.strip())


def group_names(c):
    return {line.split(":", 1)[0] for line in c.run(["getent", "group"]).stdout.splitlines()}


@pytest.mark.quick
def test_the_web_app_plays_its_whole_day_as_its_user_without_sudo(svc):
    c = svc.c
    began = time.monotonic()
    groups_before = group_names(c)
    try:
        # -- the admin, once --------------------------------------------------------------------------
        sudo = c.sh("command -v sudo", check=False)
        if sudo.returncode == 0:
            assert "not allowed to run sudo" in c.run(["sudo", "-l", "-U", WEB], check=False).stdout
        with svc.polkit_reload():
            c.sh(f"rm -f {RULES_D}/*.rules")
            c.run(["sh", "-e", "-c", readme_block()])
        shipped = sorted(os.path.basename(p) for p in c.sh(f"ls {EXAMPLES}/*.rules").stdout.split())
        assert sorted(c.sh(f"ls {RULES_D}").stdout.split()) == shipped
        assert set(c.run(["id", "-nG", WEB]).stdout.split()) == WEB_GROUPS
        c.write(f"{UNITS}/left4me-server@.service", TEMPLATE)
        c.run(["systemctl", "daemon-reload"])

        # -- build ------------------------------------------------------------------------------------
        c.run(["mkdir", "-p", f"{L4M}/overlays/day"], user=WEB)
        lines = web(c, """
            lines = []
            run_sandboxed_script("day", "echo built > built.txt; echo done", on_stdout=lines.append,
                                 on_stderr=lines.append, should_cancel=lambda: False)
            print(json.dumps(lines))
            """)
        assert "done" in lines
        assert c.run(["stat", "-c", "%U %n", f"{L4M}/overlays/day/built.txt"]).stdout.split()[0] == WEB
        assert c.run(["cat", f"{L4M}/overlays/day/built.txt"]).stdout == "built\n"

        # -- mount ------------------------------------------------------------------------------------
        web_writes(c, f"{L4M}/installation/day/server.cfg", "hostname day\n")
        merged = web(c, f"""
            print(Builder().mount("{INSTANCE}", ["{L4M}/overlays/day", "{L4M}/installation/day"]))
            """).strip()
        assert merged == MERGED
        fstype, options = mount_of(c, MERGED)
        assert fstype == "overlay" and {"nosuid", "nodev"} <= set(options.split(",")), (fstype, options)
        assert c.run(["cat", f"{MERGED}/built.txt", f"{MERGED}/server.cfg"]).stdout == "built\nhostname day\n"

        # -- start a server ---------------------------------------------------------------------------
        c.run(["systemctl", "--no-ask-password", "start", SERVER], user=WEB)
        server = unit(c, SERVER, "ActiveState", "MainPID")
        assert server["ActiveState"] == "active"
        assert process(c, server["MainPID"]) == (WEB, MERGED)

        # -- apply caps -------------------------------------------------------------------------------
        binary = f"{L4M}/addons/pinger/versions/1.0/bin/pinger"
        c.run(["sh", "-c", f"mkdir -p {os.path.dirname(binary)} && cp /usr/bin/ping {binary}"], user=WEB)
        web(c, 'Builder().apply_caps("pinger", "1.0", "bin/pinger", ["cap_net_raw"], activate=True)')
        assert c.run(["getcap", binary]).stdout.split() == [binary, "cap_net_raw=ep"]
        assert c.run(["readlink", f"{L4M}/addons/pinger/current"]).stdout.strip() == "versions/1.0"

        # -- install add-on units, enabled and started ------------------------------------------------
        web_writes(c, f"{L4M}/addons/scoreboard/versions/1.0/units/{ADDON_UNIT}", ADDON_UNIT_TEXT)
        web(c, f"""
            Builder().install_units("scoreboard", "1.0", ["{ADDON_UNIT}"], enable=["{ADDON_UNIT}"], now=True)
            """)
        assert c.run(["cat", f"{UNITS}/{ADDON_UNIT}"]).stdout == ADDON_UNIT_TEXT
        addon = unit(c, ADDON_UNIT, "ActiveState", "UnitFileState", "MainPID")
        assert (addon["ActiveState"], addon["UnitFileState"]) == ("active", "enabled"), addon
        assert process(c, addon["MainPID"])[0] == WEB

        # -- stop the server --------------------------------------------------------------------------
        c.run(["systemctl", "--no-ask-password", "stop", SERVER], user=WEB)
        assert unit(c, SERVER, "ActiveState")["ActiveState"] == "inactive"

        # -- unmount ----------------------------------------------------------------------------------
        web(c, f'Builder().unmount("{INSTANCE}")')
        assert mount_of(c, MERGED) is None

        # -- remove the add-on units ------------------------------------------------------------------
        web(c, 'Builder().remove_units("scoreboard")')
        assert c.sh(f"find {UNITS} -name 'scoreboard-*'").stdout == ""
        assert unit(c, ADDON_UNIT, "ActiveState")["ActiveState"] == "inactive"
        assert web(c, "print(json.dumps([a.addon for a in Builder().addon_units()]))").strip() == "[]"
        print(f"the web app's day: {time.monotonic() - began:.1f} s")
    finally:
        c.sh(f"systemctl stop {SERVER}; rm -f {RULES_D}/*.rules {UNITS}/left4me-server@.service; "
             "systemctl daemon-reload", check=False)
        svc.call("Unmount", INSTANCE)
        svc.call("RemoveUnits", "scoreboard")
        for group in ("left4me-mount", "left4me-caps", "left4me-addons"):
            c.run(["gpasswd", "-d", WEB, group], check=False)
        for added in group_names(c) - groups_before:
            c.run(["groupdel", added], check=False)
        c.run(["rm", "-rf", f"{L4M}/overlays/day", f"{L4M}/installation/day", f"{L4M}/addons/pinger",
               f"{L4M}/addons/scoreboard"])
