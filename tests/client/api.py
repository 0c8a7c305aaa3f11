"""What dbus/org.left4me.Builder.xml says, for the tests: its interfaces,
parsed by GDBus, and each method's a{sv} options with their types, read from
its doc annotation ("OPTIONS: memory_max (t, bytes), ... network (s): ...").
The stand-in service and the client's tests both read the API here, so
neither can drift from the XML unnoticed."""

import os
import re

from gi.repository import Gio

XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dbus", "org.left4me.Builder.xml")
DOC = "org.gtk.GDBus.DocString"


def node_info():
    with open(XML, encoding="utf-8") as xml:
        return Gio.DBusNodeInfo.new_for_xml(xml.read())


def interface(name):
    return node_info().lookup_interface(name)


def doc(annotated):
    return Gio.DBusAnnotationInfo.lookup(annotated.annotations, DOC) or ""


def method_options(method):
    """{name: D-Bus type} of the options METHOD's doc annotation lists."""
    text = doc(interface("org.left4me.Builder").lookup_method(method))
    listed = text.split("OPTIONS", 1)[1]
    # Each option is "name (type" followed by ")" or ", unit)".
    return dict(re.findall(r"\b([a-z][a-z_]*) \(((?:a?[a-z]){1,2})[,)]", listed))
