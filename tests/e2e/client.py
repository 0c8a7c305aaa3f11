#!/usr/bin/python3
"""Test client for org.left4me.Builder, run inside the test container.

Uses Gio (python3-gi) because it can set the ALLOW_INTERACTIVE_AUTHORIZATION
flag and has a main loop for signals. Prints one JSON object on stdout.

  client.py call METHOD JSON_ARGS|- [--interactive] [--path P --iface I --signature S] [--disconnect]
      (- reads the arguments from stdin; --disconnect sends the call and
      closes the connection at once, without waiting for the reply)
  client.py build OVERLAY SCRIPT [--cancel-after SEC | --cancel-on LINE] [--options JSON] [--stream]
      (--cancel-on cancels the job as soon as LINE arrives)
"""

import argparse
import json
import os
import sys
import time

from gi.repository import Gio, GLib

# The option tables are the XML's (tests/client/api.py reads them); the
# source tree is visible in the container at the same path.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "client"))
import api  # noqa: E402

BUS_NAME = "org.left4me.Builder"
PATH = "/org/left4me/Builder"
IFACE = "org.left4me.Builder"
JOB_IFACE = "org.left4me.Builder.Job"

# What kind of JSON value each D-Bus type is written as.
KINDS = {"b": bool, "t": int, "u": int, "i": int, "x": int, "s": str, "as": list}


def inferred(value):
    """The D-Bus type a JSON value is sent as when the XML has no better one."""
    if isinstance(value, bool):
        return "b"
    if isinstance(value, int):
        return "t"
    if isinstance(value, list):
        return "as"
    return "s"


def variant_options(options, method):
    """OPTIONS as METHOD's a{sv}: a known option gets the type of the XML's
    option table; a value of another kind (memory_max "1G"), or an unknown
    key, is sent as it is, so that tests can send the wrong type on purpose;
    {"$type": "u", "value": 5} is sent with exactly that type."""
    try:
        table = api.method_options(method)
    except KeyError:  # a method the XML lacks, called on purpose
        table = {}
    out = {}
    for key, value in options.items():
        if isinstance(value, dict) and "$type" in value:
            out[key] = GLib.Variant(value["$type"], value["value"])
            continue
        natural = inferred(value)
        declared = table.get(key)
        if declared is not None and KINDS.get(declared) is KINDS[natural]:
            out[key] = GLib.Variant(declared, value)
        else:
            out[key] = GLib.Variant(natural, value if natural != "s" else str(value))
    return out


def call(bus, method, args, interactive=False, path=PATH, iface=IFACE, signature=None, timeout_ms=60000):
    signature = signature or api.method_signature(method)
    args = [variant_options(a, method) if isinstance(a, dict) else a for a in args]
    flags = Gio.DBusCallFlags.ALLOW_INTERACTIVE_AUTHORIZATION if interactive else Gio.DBusCallFlags.NONE
    try:
        reply = bus.call_sync(BUS_NAME, path, iface, method, GLib.Variant(signature, tuple(args)), None, flags,
                              timeout_ms, None)
        return {"reply": reply.unpack() if reply is not None else None}
    except GLib.Error as e:
        name = Gio.DBusError.get_remote_error(e)
        Gio.DBusError.strip_remote_error(e)
        message = e.message.split(": ", 1)[1] if e.message.startswith("GDBus.Error:") else e.message
        return {"error": name, "message": message}


def send_and_disconnect(bus, method, args, path=PATH, iface=IFACE, signature=None):
    """The CVE-2021-3560 shape: the call leaves, its sender is gone before
    the service can ask polkit about it."""
    signature = signature or api.method_signature(method)
    args = [variant_options(a, method) if isinstance(a, dict) else a for a in args]
    message = Gio.DBusMessage.new_method_call(BUS_NAME, path, iface, method)
    message.set_body(GLib.Variant(signature, tuple(args)))
    message.set_flags(Gio.DBusMessageFlags.NO_REPLY_EXPECTED)
    bus.send_message(message, Gio.DBusSendMessageFlags.NONE)
    bus.flush_sync(None)
    bus.close_sync(None)
    return {"sent": True}


def get_all(bus, path):
    reply = bus.call_sync(BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", GLib.Variant("(s)", (JOB_IFACE,)),
                          None, Gio.DBusCallFlags.NONE, 10000, None)
    return reply.unpack()[0]


def build(bus, overlay, script, options, cancel_after, timeout, stream=False, cancel_on=None):
    loop = GLib.MainLoop()
    state = {"job": None, "lines": [], "first_lines": [], "finished": None, "pending": [], "properties": []}

    def on_signal(_conn, _sender, path, iface, member, params):
        if state["job"] is None:
            state["pending"].append((path, iface, member, params))
            return
        handle(path, iface, member, params)

    def handle(path, iface, member, params):
        if path != state["job"]:
            return
        if member == "Log":
            first, lines = params.unpack()
            state["first_lines"].append(first)
            expected = len(state["lines"])
            if first != expected:
                state.setdefault("gaps", []).append([expected, first])
            state["lines"].extend(lines)
            if cancel_on is not None and cancel_on in lines and "cancel_sent_at" not in result:
                do_cancel()
            if stream:
                for number, line in enumerate(lines, first):
                    print(f"{number:>5} | {line}", flush=True)
        elif member == "Finished":
            state["finished"] = list(params.unpack())
            state["finished_at"] = time.monotonic()
            loop.quit()
        elif member == "PropertiesChanged":
            _iface, changed, _inv = params.unpack()
            state["properties"].append(changed)

    result = {}

    def do_cancel():
        result["cancel_sent_at"] = time.monotonic()
        result["cancel"] = call(bus, "Cancel", [state["job"]])
        return False

    bus.signal_subscribe(BUS_NAME, JOB_IFACE, None, None, None, Gio.DBusSignalFlags.NONE, on_signal)
    bus.signal_subscribe(BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged", None, JOB_IFACE,
                         Gio.DBusSignalFlags.NONE, on_signal)
    started = time.monotonic()
    answer = call(bus, "StartBuild", [overlay, script, options])
    if "error" in answer:
        return answer
    state["job"] = result["job"] = answer["reply"][0]
    for pending in state["pending"]:
        handle(*pending)

    if cancel_after is not None:
        GLib.timeout_add(int(cancel_after * 1000), do_cancel)

    if state["finished"] is None:
        GLib.timeout_add_seconds(timeout, loop.quit)
        loop.run()
    props = get_all(bus, state["job"])
    # Lines emitted before we knew the job path were kept in "pending"; a
    # real client would use ReadLog. Here we check the two agree.
    replay = call(bus, "ReadLog", [0, 65536], path=state["job"], iface=JOB_IFACE, signature="(tu)")
    result.update({
        "lines": state["lines"],
        "gaps": state.get("gaps", []),
        "finished": state["finished"],
        "properties": props,
        "property_changes": state["properties"],
        "replay": replay,
        "elapsed": time.monotonic() - started,
    })
    if "cancel_sent_at" in result and "finished_at" in state:
        result["cancel_to_finished"] = state["finished_at"] - result["cancel_sent_at"]
    return result


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("call")
    c.add_argument("method")
    c.add_argument("args")
    c.add_argument("--interactive", action="store_true")
    c.add_argument("--path", default=PATH)
    c.add_argument("--iface", default=IFACE)
    c.add_argument("--signature")
    c.add_argument("--disconnect", action="store_true")
    b = sub.add_parser("build")
    b.add_argument("overlay")
    b.add_argument("script")
    b.add_argument("--options", default="{}")
    b.add_argument("--cancel-after", type=float)
    b.add_argument("--cancel-on")
    b.add_argument("--timeout", type=int, default=60)
    b.add_argument("--stream", action="store_true", help="print log lines as they arrive, then a summary")
    a = parser.parse_args()
    bus = Gio.bus_get_sync(Gio.BusType.SYSTEM, None)
    if a.command == "call":
        args = sys.stdin.read() if a.args == "-" else a.args
        if a.disconnect:
            out = send_and_disconnect(bus, a.method, json.loads(args), a.path, a.iface, a.signature)
        else:
            out = call(bus, a.method, json.loads(args), a.interactive, a.path, a.iface, a.signature)
    else:
        out = build(bus, a.overlay, a.script, json.loads(a.options), a.cancel_after, a.timeout, a.stream,
                    a.cancel_on)
        if a.stream:
            if "error" in out:
                print(f"refused: {out['error']}: {out['message']}")
                sys.exit(1)
            p = out["properties"]
            print(f"job {p['Id']} ({p['Unit']}) {p['State']}: result {p['Result']}, exit status {p['ExitStatus']}")
            return
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
