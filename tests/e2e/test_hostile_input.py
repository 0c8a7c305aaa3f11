"""The hostile input corpus: names and paths built to escape their roots,
wrong and unknown option types, objects that do not exist, and floods, sent
to every method by root (who passes polkit, so only validation stands in the
way). Each case gets its documented error with a message naming the problem,
nothing changes anywhere (Service.refused compares a snapshot of jobs, units,
mounts and files), and the daemon keeps answering."""

import json
import os
import re
import time
import xml.etree.ElementTree as ET

import pytest

from client import variant_options
from conftest import ERROR

XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dbus", "org.left4me.Builder.xml")

L4M = "/var/lib/left4me"
OV = f"{L4M}/overlays"
LONG = "a" * 4096
MIB = 1024 * 1024


def typed(t, value):
    """An option value sent with exactly this D-Bus type."""
    return {"$type": t, "value": value}


@pytest.fixture(autouse=True)
def scene(svc):
    """What the cases aim at: a real overlay, a decoy outside the roots,
    symlinks and a hard link, and a staged add-on."""
    svc.c.sh(f"""set -e
        rm -rf {OV}/demo {OV}/link-out {OV}/link-in {OV}/file {OV}/dirlink {L4M}/decoy {L4M}/addons/probe
        mkdir -p {OV}/demo {L4M}/decoy {L4M}/addons/probe/versions/1.0/bin
        chown left4me: {OV}/demo {L4M}/decoy
        ln -s ../decoy {OV}/link-out
        ln -s demo {OV}/link-in
        ln -s {L4M}/installation {OV}/dirlink
        touch {OV}/file
        cp /usr/bin/true {L4M}/addons/probe/versions/1.0/bin/probe
        ln -s /usr/bin/ping {L4M}/addons/probe/versions/1.0/bin/symlinked
        ln {L4M}/addons/probe/versions/1.0/bin/probe {L4M}/addons/probe/versions/1.0/bin/hardlinked
        ln -s 1.0 {L4M}/addons/probe/versions/linked
        mkdir {L4M}/addons/probe/versions/1.0/units
        printf '[Service]\\nUser=left4me\\nExecStart=/bin/true\\n' >{L4M}/addons/probe/versions/1.0/units/probe-a.service
        printf '[Service]\\nExecStart=/bin/true\\n' >{L4M}/addons/probe/versions/1.0/units/probe-root.service
        ln -s /lib/systemd/system/ssh.service {L4M}/addons/probe/versions/1.0/units/probe-symlinked.service""")


BUILD = "StartBuild"
CASES = [
    # -- StartBuild: the overlay name is one segment beneath overlays_root
    (BUILD, ["../etc", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["/etc", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["demo/sub", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, [".", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["..", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["-rf", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["a\nb", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["a,b", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["a:b", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["a=b", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, [LONG, "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["missing", "true", {}], "InvalidArgument", "missing"),
    (BUILD, ["file", "true", {}], "InvalidArgument", "file"),
    (BUILD, ["link-out", "true", {}], "InvalidArgument", "symlinks"),
    (BUILD, ["link-in", "true", {}], "InvalidArgument", "symlinks"),
    # -- StartBuild: the script
    (BUILD, ["demo", "x" * (MIB + 1), {}], "InvalidArgument", "1 MiB"),
    (BUILD, ["demo ", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["d\u00e9mo", "true", {}], "InvalidArgument", "overlay"),
    # The error quotes at most 64 bytes of the name: never half a character
    # (D-Bus carries only valid UTF-8), and no C1 control either.
    (BUILD, ["a" * 63 + "\u00e9\u00e9", "true", {}], "InvalidArgument", "overlay"),
    (BUILD, ["a\u009b2J", "true", {}], "InvalidArgument", "\\xc2\\x9b2J"),
    (BUILD, ["demo", "true", {"network": "n" * 31 + "\u00e9"}], "InvalidArgument", "network"),
    (BUILD, ["demo", "true", {"environment": ["e" * 63 + "\u00e9=1"]}], "InvalidArgument", "environment"),
    # -- StartBuild: every option with a wrong type, bad values, unknown keys
    (BUILD, ["demo", "true", {"memory_max": "1G"}], "InvalidArgument", "memory_max"),
    (BUILD, ["demo", "true", {"memory_max": typed("u", 1 << 30)}], "InvalidArgument", "memory_max"),
    (BUILD, ["demo", "true", {"memory_max": 0}], "InvalidArgument", "memory_max"),
    (BUILD, ["demo", "true", {"memory_max": 1 << 60}], "InvalidArgument", "memory_max"),
    (BUILD, ["demo", "true", {"cpu_quota": typed("t", 50)}], "InvalidArgument", "cpu_quota"),
    (BUILD, ["demo", "true", {"cpu_quota": typed("u", 0)}], "InvalidArgument", "cpu_quota"),
    (BUILD, ["demo", "true", {"tasks_max": True}], "InvalidArgument", "tasks_max"),
    (BUILD, ["demo", "true", {"tasks_max": typed("i", 10)}], "InvalidArgument", "tasks_max"),
    (BUILD, ["demo", "true", {"timeout_sec": "60"}], "InvalidArgument", "timeout_sec"),
    (BUILD, ["demo", "true", {"timeout_sec": 0}], "InvalidArgument", "timeout_sec"),
    (BUILD, ["demo", "true", {"network": True}], "InvalidArgument", "network"),
    (BUILD, ["demo", "true", {"network": "lan"}], "InvalidArgument", "network"),
    (BUILD, ["demo", "true", {"environment": "A=b"}], "InvalidArgument", "environment"),
    (BUILD, ["demo", "true", {"environment": ["lower=x"]}], "InvalidArgument", "environment"),
    (BUILD, ["demo", "true", {"environment": ["PATH=/tmp"]}], "InvalidArgument", "PATH"),
    (BUILD, ["demo", "true", {"environment": ["SOURCE_DATE_EPOCH=0"]}], "InvalidArgument", "SOURCE_DATE_EPOCH"),
    (BUILD, ["demo", "true", {"environment": ["NOEQUALS"]}], "InvalidArgument", "environment"),
    (BUILD, ["demo", "true", {"environment": ["A=x\nPATH=/evil"]}], "InvalidArgument", "environment"),
    (BUILD, ["demo", "true", {"skip_if_unchanged": "yes"}], "InvalidArgument", "skip_if_unchanged"),
    (BUILD, ["demo", "true", {"memory": 1}], "InvalidArgument", "memory"),
    (BUILD, ["demo", "true", {"": 1}], "InvalidArgument", "option"),
    # -- Cancel: objects that are not jobs
    ("Cancel", ["/org/left4me/Builder/job/999999"], "NoSuchJob", "999999"),
    ("Cancel", ["/org/left4me/Builder/job/0"], "NoSuchJob", "job"),
    ("Cancel", ["/org/left4me/Builder"], "NoSuchJob", "job"),
    ("Cancel", ["/"], "NoSuchJob", "job"),
    # -- Mount: the instance is one segment, layers are absolute directories in the roots
    ("Mount", ["../x", [f"{OV}/demo"], {}], "InvalidArgument", "instance"),
    ("Mount", ["a/b", [f"{OV}/demo"], {}], "InvalidArgument", "instance"),
    ("Mount", ["a\nb", [f"{OV}/demo"], {}], "InvalidArgument", "instance"),
    ("Mount", [LONG, [f"{OV}/demo"], {}], "InvalidArgument", "instance"),
    ("Mount", ["inst", [], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/demo"] * 65, {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", ["overlays/demo"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/a:b"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/a,b"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f'{OV}/a"b'], {"persistent": True}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/a\nb"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/demo/../../../../etc"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", ["/etc"], {}], "InvalidArgument", "/etc"),
    ("Mount", ["inst", [f"{OV}/link-out"], {}], "InvalidArgument", "link-out"),
    ("Mount", ["inst", [f"{OV}/dirlink"], {}], "InvalidArgument", "dirlink"),
    ("Mount", ["inst", [f"{OV}/file"], {}], "InvalidArgument", "file"),
    ("Mount", ["inst", [f"{OV}/missing"], {}], "InvalidArgument", "missing"),
    ("Mount", ["inst", [f"{OV}/{LONG}"], {}], "InvalidArgument", "layers"),
    ("Mount", ["inst", [f"{OV}/demo"], {"read_only": "yes"}], "InvalidArgument", "read_only"),
    ("Mount", ["inst", [f"{OV}/demo"], {"persistent": 1}], "InvalidArgument", "persistent"),
    ("Mount", ["inst", [f"{OV}/demo"], {"rw": True}], "InvalidArgument", "rw"),
    # -- Unmount
    ("Unmount", ["../x"], "InvalidArgument", "instance"),
    ("Unmount", [""], "InvalidArgument", "instance"),
    ("Unmount", [LONG], "InvalidArgument", "instance"),
    ("Unmount", ["never-mounted"], "NotMounted", "never-mounted"),
    # -- ApplyCaps: add-on and version are segments, the binary a relative path inside
    ("ApplyCaps", ["..", "1.0", "bin/probe", [], {}], "InvalidArgument", "addon"),
    ("ApplyCaps", ["/etc", "1.0", "bin/probe", [], {}], "InvalidArgument", "addon"),
    ("ApplyCaps", ["probe", "../1.0", "bin/probe", [], {}], "InvalidArgument", "version"),
    ("ApplyCaps", ["probe", "1.0\n", "bin/probe", [], {}], "InvalidArgument", "version"),
    ("ApplyCaps", ["probe", "linked", "bin/probe", ["cap_net_raw"], {}], "InvalidArgument", "linked"),
    ("ApplyCaps", ["probe", "1.0", "/usr/bin/ping", [], {}], "InvalidArgument", "binary"),
    ("ApplyCaps", ["probe", "1.0", "../../../../../etc/passwd", [], {}], "InvalidArgument", "binary"),
    ("ApplyCaps", ["probe", "1.0", "bin/../../2.0/bin/probe", [], {}], "InvalidArgument", "binary"),
    ("ApplyCaps", ["probe", "1.0", "bin/" + LONG, [], {}], "InvalidArgument", "binary"),
    ("ApplyCaps", ["probe", "1.0", "bin/symlinked", ["cap_net_raw"], {}], "InvalidArgument", "symlinked"),
    ("ApplyCaps", ["probe", "1.0", "bin/hardlinked", ["cap_net_raw"], {}], "InvalidArgument", "link"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", ["cap_sys_admin"], {}], "CapabilityNotAllowed", "cap_sys_admin"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", ["cap_net_raw=ep"], {}], "InvalidArgument", "capabilities"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", ["cap_make_coffee"], {}], "InvalidArgument", "capabilities"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", ["c" * 63 + "\u00e9"], {}], "InvalidArgument", "capabilities"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", [], {"activate": "yes"}], "InvalidArgument", "activate"),
    ("ApplyCaps", ["probe", "1.0", "bin/probe", [], {"force": True}], "InvalidArgument", "force"),
    # -- InstallUnits: segments as ApplyCaps; unit names carry the add-on's
    # name and a .service or .timer suffix; the files are read through fds
    ("InstallUnits", ["..", "1.0", ["probe-a.service"], {}], "InvalidArgument", "addon"),
    ("InstallUnits", ["probe", "../1.0", ["probe-a.service"], {}], "InvalidArgument", "version"),
    ("InstallUnits", ["probe", "1.0", [], {}], "InvalidArgument", "units"),
    ("InstallUnits", ["probe", "1.0", ["ssh.service"], {}], "InvalidArgument", "ssh.service"),
    ("InstallUnits", ["probe", "1.0", ["left4me-builderd.service"], {}], "InvalidArgument", "probe-"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.socket"], {}], "InvalidArgument", "probe-a.socket"),
    ("InstallUnits", ["probe", "1.0", ["probe-../../x.service"], {}], "InvalidArgument", "units"),
    ("InstallUnits", ["probe", "1.0", ["probe-a@.service"], {}], "InvalidArgument", "templates"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service", "probe-a.service"], {}], "InvalidArgument", "twice"),
    ("InstallUnits", ["probe", "1.0", [f"probe-{i}.service" for i in range(33)], {}], "InvalidArgument", "limit"),
    ("InstallUnits", ["probe", "1.0", ["probe-missing.service"], {}], "InvalidArgument", "probe-missing.service"),
    ("InstallUnits", ["probe", "linked", ["probe-a.service"], {}], "InvalidArgument", "linked"),
    ("InstallUnits", ["probe", "1.0", ["probe-symlinked.service"], {}], "InvalidArgument", "symlinked"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service"], {"enable": ["probe-b.service"]}],
     "InvalidArgument", "probe-b.service"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service"], {"now": True}], "InvalidArgument", "enable"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service"], {"enable": "probe-a.service"}], "InvalidArgument",
     "enable"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service"], {"enable": ["probe-a.service"], "now": "yes"}],
     "InvalidArgument", "now"),
    ("InstallUnits", ["probe", "1.0", ["probe-a.service"], {"force": True}], "InvalidArgument", "force"),
    ("InstallUnits", ["probe", "1.0", ["probe-root.service"], {}], "UnitNotAllowed", "probe-root.service"),
    # -- RemoveUnits: one segment, an add-on that has units
    ("RemoveUnits", ["../probe"], "InvalidArgument", "addon"),
    ("RemoveUnits", [""], "InvalidArgument", "addon"),
    ("RemoveUnits", ["nosuch"], "NoSuchAddon", "nosuch"),
    # -- EnableServer, DisableServer: a configured template (server_templates:
    # left4me-server@.service), an instance that needs no escape and names
    # no path; here the template has no unit file, so even a good name is
    # refused once systemd has loaded it
    ("EnableServer", ["ssh.service", "1", {}], "InvalidArgument", "template"),
    ("EnableServer", ["left4me-builderd.service", "1", {}], "InvalidArgument", "template"),
    ("EnableServer", ["left4me-build@.service", "1", {}], "InvalidArgument", "template"),
    ("EnableServer", ["left4me-server@1.service", "1", {}], "InvalidArgument", "template"),
    ("EnableServer", ["../left4me-server@.service", "1", {}], "InvalidArgument", "template"),
    ("EnableServer", ["", "", {}], "InvalidArgument", "instance"),
    ("EnableServer", ["", "../../ssh", {}], "InvalidArgument", "instance"),
    ("EnableServer", ["", "a\\x2fb", {}], "InvalidArgument", "instance"),
    ("EnableServer", ["", "x@y", {}], "InvalidArgument", "instance"),
    ("EnableServer", ["", LONG, {}], "InvalidArgument", "instance"),
    ("EnableServer", ["", "1", {"now": "yes"}], "InvalidArgument", "now"),
    ("EnableServer", ["", "1", {"force": True}], "InvalidArgument", "force"),
    ("EnableServer", ["", "1", {}], "InvalidArgument", "There is no unit file for left4me-server@.service"),
    ("DisableServer", ["ssh.service", "1", {}], "InvalidArgument", "template"),
    ("DisableServer", ["left4me-build@.service", "1", {}], "InvalidArgument", "template"),
    ("DisableServer", ["", "a/b", {}], "InvalidArgument", "instance"),
    ("DisableServer", ["", "-x", {}], "InvalidArgument", "instance"),
    ("DisableServer", ["", "1", {"now": typed("u", 1)}], "InvalidArgument", "now"),
    ("DisableServer", ["", "1", {"runtime": True}], "InvalidArgument", "runtime"),
]


def case_id(case):
    method, args, error, _ = case
    text = json.dumps(args)[:60].encode("ascii", "backslashreplace").decode()
    return f"{method}-{error}-{text}"


def manager_methods():
    """{method: {option: D-Bus type}} of org.left4me.Builder's methods that
    take arguments, with the options of their org.left4me.Builder.Options
    annotation."""
    methods = {}
    for interface in ET.parse(XML).getroot().iter("interface"):
        if interface.get("name") != "org.left4me.Builder":
            continue
        for method in interface.iter("method"):
            if not any(arg.get("direction") == "in" for arg in method.iter("arg")):
                continue
            table = " ".join(a.get("value") for a in method.iter("annotation")
                             if a.get("name") == "org.left4me.Builder.Options")
            methods[method.get("name")] = dict(re.findall(r"\b([a-z_]+)=(as|[tubs])\b", table))
    return methods


@pytest.mark.quick
def test_the_corpus_covers_every_method_and_gives_every_documented_option_a_wrong_type():
    methods = manager_methods()
    assert {"StartBuild", "Mount", "ApplyCaps"} <= {m for m, options in methods.items() if options}  # parsed at all
    assert set(methods) <= {case[0] for case in CASES}, "methods without a hostile case"
    for method, documented in methods.items():
        sent = [case[1][-1] for case in CASES if case[0] == method and isinstance(case[1][-1], dict)]
        wrong = {key for options in sent for key, value in variant_options(options, method).items()
                 if key in documented and value.get_type_string() != documented[key]}
        assert wrong == set(documented), f"{method}: no case sends {set(documented) - wrong} with a wrong type"
        if documented:
            assert any(set(options) - set(documented) for options in sent), f"{method}: no case with an unknown key"


@pytest.mark.quick
@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_hostile_input_is_refused_by_name_and_changes_nothing(svc, case):
    method, args, error, mentions = case
    svc.refused(method, *args, error=error, mentions=mentions)


def test_a_flood_from_one_connection_is_answered_call_by_call_and_the_daemon_keeps_serving(svc):
    # 100 calls in flight at a time: the system bus itself refuses more
    # pending replies per connection (LimitsExceeded from dbus-daemon).
    flood = """
from gi.repository import Gio, GLib
bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
loop = GLib.MainLoop()
N, WINDOW = 2000, 100
answers, sent = {}, 0
def send():
    global sent
    bus.call("org.left4me.Builder", "/org/left4me/Builder", "org.left4me.Builder", "StartBuild",
             GLib.Variant("(ssa{sv})", ("../flood", "true", {})), None, Gio.DBusCallFlags.NONE, 120000, None, done, sent)
    sent += 1
def done(conn, result, i):
    try:
        conn.call_finish(result)
        answers[i] = "reply"
    except GLib.Error as e:
        answers[i] = Gio.DBusError.get_remote_error(e)
    if sent < N:
        send()
    elif len(answers) == N:
        loop.quit()
for _ in range(WINDOW):
    send()
loop.run()
print(len(answers), sorted(set(answers.values())))
"""
    before = svc.snapshot()
    out = svc.c.run(["/usr/bin/python3", "-c", flood], timeout=180).stdout.split(" ", 1)
    assert out[0] == "2000" and out[1].strip() == "['org.left4me.Builder.Error.InvalidArgument']", out
    assert svc.snapshot() == before
    assert svc.call("Unmount", "still-serving")["error"] == ERROR + "NotMounted"


READ_FLOOD = """
import sys, time
from gi.repository import Gio, GLib
job, count = sys.argv[1], int(sys.argv[2])
bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
loop = GLib.MainLoop()
answers = []
start = time.monotonic()
def done(conn, result, _):
    try:
        next_line, lines = conn.call_finish(result).unpack()
        answers.append(("lines", len(lines), round(time.monotonic() - start, 2)))
    except GLib.Error as e:
        answers.append((Gio.DBusError.get_remote_error(e), 0, round(time.monotonic() - start, 2)))
    if len(answers) == count:
        loop.quit()
for _ in range(count):
    bus.call("org.left4me.Builder", job, "org.left4me.Builder.Job", "ReadLog", GLib.Variant("(tu)", (0, 65536)),
             None, Gio.DBusCallFlags.NONE, 120000, None, done, None)
loop.run()
print(repr(answers))
"""


def test_one_caller_reading_logs_without_end_is_slowed_and_refused_and_nobody_else_waits(svc):
    """ReadLog is open to anyone and costs the daemon's one loop up to 8 MiB
    a call: each caller (by uid) has a budget, 64 MiB at once and 16 MiB/s
    after, and at most 4 calls held past it."""
    import ast
    svc.overlay("big")
    # 131072 lines of 64 bytes: 4 MiB per full 65536-line page.
    out = svc.build("big", "head -c 8388608 /dev/zero | tr '\\\\0' x | fold -w 63 | head -n 131072 > /dev/null; "
                           "yes 0123456789012345678901234567890123456789012345678901234567890123 | head -n 131072")
    job = out["job"]
    mib = 1 << 20
    alice = svc.c.popen(["/usr/bin/python3", "-c", READ_FLOOD, job, "40"], user="alice")
    time.sleep(1.5)  # alice's burst is spent and her calls are held
    started = time.monotonic()
    other = svc.c.run(["/usr/bin/python3", "-c", READ_FLOOD, job, "1"], user="bob")
    bob_waited = time.monotonic() - started
    answers = ast.literal_eval(alice.communicate(timeout=120)[0])
    kinds = [a[0] for a in answers]
    served, refused = kinds.count("lines"), kinds.count(ERROR + "LimitsExceeded")
    assert served + refused == 40 and refused > 0, answers
    # Never more than the budget: the burst, the rate over the time taken,
    # and the one page that may overdraw it.
    last = max(t for kind, _, t in answers if kind == "lines")
    assert served * 4 * mib <= 64 * mib + 16 * mib * last + 4 * mib, answers
    # Bob is not held up behind alice's budget.
    assert ast.literal_eval(other.stdout)[0][0] == "lines"
    assert bob_waited < 5, bob_waited
