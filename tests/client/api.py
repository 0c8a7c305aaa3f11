"""What dbus/org.left4me.Builder.xml says, for the tests: its interfaces,
parsed by GDBus, and each method's a{sv} options with their types, read from
the option table its org.left4me.Builder.Options annotation holds
("memory_max=t cpu_quota=u ..."). The stand-in service, the client's tests
and the end-to-end test client all read the API here, so none can drift
from the XML unnoticed."""

import os

from gi.repository import Gio

XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dbus", "org.left4me.Builder.xml")
OPTIONS = "org.left4me.Builder.Options"


def node_info():
    with open(XML, encoding="utf-8") as xml:
        return Gio.DBusNodeInfo.new_for_xml(xml.read())


def interface(name):
    return node_info().lookup_interface(name)


def method_options(method):
    """{name: D-Bus type} of METHOD's a{sv} argument, from its option table;
    {} for a method without one."""
    for each in node_info().interfaces:
        info = each.lookup_method(method)
        if info is None:
            continue
        for arg in info.in_args:
            if arg.signature == "a{sv}":
                table = Gio.DBusAnnotationInfo.lookup(arg.annotations, OPTIONS)
                assert table is not None, f"{method}'s {arg.name} has no {OPTIONS} annotation"
                return dict(entry.split("=", 1) for entry in table.split())
        return {}
    raise KeyError(f"no method {method} in the XML")


def method_signature(method):
    """The (...) signature of METHOD's in arguments, as the XML declares them."""
    for each in node_info().interfaces:
        info = each.lookup_method(method)
        if info is not None:
            return "(" + "".join(arg.signature for arg in info.in_args) + ")"
    raise KeyError(f"no method {method} in the XML")
