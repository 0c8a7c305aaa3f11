"""The XML's option tables (the org.left4me.Builder.Options annotation of
each a{sv} argument) are the one table every client follows: the Python
client's (test_client_pure.py), the end-to-end test client's and the CLI's,
which is checked by what it sends, not by reading its source. And the XML
documents every error the daemon names."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import api

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NAMES_HPP = os.path.join(ROOT, "src", "bus", "names.hpp")
BUILDERCTL = os.environ.get("LEFT4ME_BUILDERCTL")

sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import client as e2e_client  # noqa: E402

METHODS_WITH_OPTIONS = ["StartBuild", "Mount", "ApplyCaps", "InstallUnits", "EnableServer", "DisableServer"]

# A value of each D-Bus type, as JSON would carry it to the e2e client.
SAMPLES = {"b": True, "t": 1, "u": 1, "s": "none", "as": ["A=1"]}

# A value for each argument placeholder `left4me-builderctl COMMAND --help`
# shows; a new placeholder needs one here.
ARGUMENTS = {"SIZE": "1G", "PCT": "50", "N": "5", "SEC": "60", "public|none": "none", "KEY=VALUE": "A=1",
             "UNIT": "tick-a.service", "TEMPLATE": "left4me-server@.service"}

# Each CLI command that sends options, the method it calls, its arguments.
COMMANDS = [("build", "StartBuild", ["demo", "-"]),
            ("mount", "Mount", ["inst", "/a", "/b"]),
            ("caps", "ApplyCaps", ["addon", "1.0", "bin/x", "cap_net_raw"]),
            ("units", "InstallUnits", ["install", "tick", "1.0", "tick-a.service"]),
            ("server", "EnableServer", ["enable", "1"]),
            ("server", "DisableServer", ["disable", "1"])]


def test_every_options_argument_has_a_table():
    for method in METHODS_WITH_OPTIONS:
        assert api.method_options(method), method


@pytest.mark.parametrize("method", METHODS_WITH_OPTIONS)
def test_the_e2e_client_sends_each_option_with_the_type_of_the_xml(method):
    table = api.method_options(method)
    sent = e2e_client.variant_options({key: SAMPLES[signature] for key, signature in table.items()}, method)
    assert {key: value.get_type_string() for key, value in sent.items()} == table


def test_the_e2e_client_still_sends_a_wrong_kind_of_value_as_it_is():
    sent = e2e_client.variant_options({"memory_max": "1G", "tasks_max": True, "nonsense": 1,
                                       "cpu_quota": {"$type": "t", "value": 50}}, "StartBuild")
    assert {key: value.get_type_string() for key, value in sent.items()} == \
        {"memory_max": "s", "tasks_max": "b", "nonsense": "t", "cpu_quota": "t"}


def test_the_xml_documents_every_error_the_daemon_names():
    names = set(re.findall(r'"org\.left4me\.Builder\.Error\.(\w+)"', open(NAMES_HPP).read()))
    prefix = "org.left4me.Builder.Error."
    documented = {annotation.key[len(prefix):] for annotation in api.interface("org.left4me.Builder").annotations
                  if annotation.key.startswith(prefix)}
    assert names and documented == names


def cli_options(command):
    """{option: its argument placeholder, or ""} from COMMAND's --help."""
    help_text = subprocess.run([BUILDERCTL, command, "--help"], capture_output=True, text=True, check=True,
                               env=dict(os.environ, LC_ALL="C", LANGUAGE="")).stdout
    section = help_text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    options = dict(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z-]*)(?:=(\S+))?", section, re.MULTILINE))
    assert options, help_text
    return options


@pytest.mark.skipif(BUILDERCTL is None, reason="LEFT4ME_BUILDERCTL (set by meson test) names no CLI")
@pytest.mark.skipif(shutil.which("dbus-daemon") is None, reason="no dbus-daemon for the stand-in")
@pytest.mark.parametrize("command, method, arguments", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_the_cli_sends_every_option_of_the_xml_with_its_type(bus, command, method, arguments):
    # Every option --help lists, given at once: together they must send
    # exactly the XML's table. An option only the CLI has (--no-follow)
    # sends nothing.
    argv = [BUILDERCTL, command] + arguments
    for name, placeholder in cli_options(command).items():
        argv.append(f"--{name}={ARGUMENTS[placeholder]}" if placeholder else f"--{name}")
    run = subprocess.run(argv, input="true\n", capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address, LC_ALL="C", LANGUAGE=""))
    sent = [json.loads(line) for line in open(os.path.join(bus.state, "options"))] \
        if os.path.exists(os.path.join(bus.state, "options")) else []
    assert [call["method"] for call in sent] == [method], (argv, run.stdout, run.stderr)
    assert sent[0]["options"] == api.method_options(method)
