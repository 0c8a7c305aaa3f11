"""The Python client's pure parts, without a bus: the option tables and
their packing, the error table, log lines, progress reports and the merge
of replayed and live log lines."""

import inspect
import json
import math
import os
import random
import re

import pytest
from gi.repository import Gio, GLib

import api
import left4me_builder
from left4me_builder import Builder, LogLine, Result, parse_progress
from left4me_builder._client import Job, merge
from left4me_builder._errors import from_gerror
from left4me_builder._options import (APPLY_CAPS_OPTIONS, BUILD_OPTIONS, INSTALL_UNITS_OPTIONS, MOUNT_OPTIONS,
                                      SERVER_OPTIONS, pack_options)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NAMES_HPP = os.path.join(ROOT, "src", "bus", "names.hpp")
PROGRESS_CASES = os.path.join(ROOT, "tests", "unit", "progress_cases.json")


def signatures(packed):
    return {key: value.get_type_string() for key, value in packed.items()}


def test_the_option_tables_are_the_xmls():
    assert BUILD_OPTIONS == api.method_options("StartBuild")
    assert MOUNT_OPTIONS == api.method_options("Mount")
    assert APPLY_CAPS_OPTIONS == api.method_options("ApplyCaps")
    assert INSTALL_UNITS_OPTIONS == api.method_options("InstallUnits")
    assert SERVER_OPTIONS == api.method_options("EnableServer") == api.method_options("DisableServer")


def keyword_only(function):
    return {name for name, p in inspect.signature(function).parameters.items() if p.kind is p.KEYWORD_ONLY}


def test_each_option_is_an_explicit_keyword_argument_so_a_misspelt_one_is_a_type_error():
    assert keyword_only(Builder.start_build) == set(BUILD_OPTIONS)
    assert keyword_only(Builder.mount) == set(MOUNT_OPTIONS)
    assert keyword_only(Builder.apply_caps) == set(APPLY_CAPS_OPTIONS)
    assert keyword_only(Builder.install_units) == set(INSTALL_UNITS_OPTIONS)
    assert keyword_only(Builder.enable_server) == keyword_only(Builder.disable_server) == set(SERVER_OPTIONS)
    with pytest.raises(TypeError, match="memory"):
        Builder.start_build(None, "demo", "true", memory=1)  # no call is made: the signature refuses it


def test_options_get_the_types_of_the_xml_and_none_means_not_given():
    packed = pack_options({"memory_max": 1 << 30, "cpu_quota": 50, "tasks_max": 64, "timeout_sec": 600,
                           "network": "none", "environment": ["A=1"], "skip_if_unchanged": True}, BUILD_OPTIONS)
    assert signatures(packed) == BUILD_OPTIONS
    assert packed["cpu_quota"].get_uint32() == 50
    assert pack_options({"memory_max": None, "network": None}, BUILD_OPTIONS) == {}


def test_the_environment_may_be_a_mapping_or_key_value_strings():
    assert pack_options({"environment": {"MAP": "c1m1", "TAG": "a=b"}}, BUILD_OPTIONS)["environment"].unpack() == \
        ["MAP=c1m1", "TAG=a=b"]
    assert pack_options({"environment": ("X=1",)}, BUILD_OPTIONS)["environment"].unpack() == ["X=1"]


@pytest.mark.parametrize("key, value, error", [
    ("nonsense", 1, TypeError),
    ("memory_max", "2G", TypeError),
    ("memory_max", True, TypeError),
    ("memory_max", 1.5, TypeError),
    ("memory_max", -1, ValueError),
    ("memory_max", 1 << 64, ValueError),
    ("cpu_quota", 1 << 32, ValueError),
    ("network", 0, TypeError),
    ("skip_if_unchanged", 1, TypeError),
    ("environment", "A=1", TypeError),
    ("environment", ["A=1", 2], TypeError),
])
def test_a_wrong_option_fails_locally_naming_it(key, value, error):
    with pytest.raises(error, match=key):
        pack_options({key: value}, BUILD_OPTIONS)


def remote_error(name, message):
    return Gio.DBusError.new_for_dbus_error(name, message)


def test_every_error_name_of_the_service_has_its_own_class():
    names = re.findall(r'"(org\.left4me\.Builder\.Error\.\w+)"', open(NAMES_HPP).read())
    assert len(names) >= 14
    for name in names:
        error = from_gerror(remote_error(name, "Argument overlay: it is wrong."))
        cls = getattr(left4me_builder, name.rsplit(".", 1)[1])
        assert type(error) is cls and issubclass(cls, left4me_builder.BuilderError)
        assert error.name == cls.name == name
        assert str(error) == "Argument overlay: it is wrong."


def test_busy_limits_exceeded_and_authorization_unavailable_are_the_retryable_ones():
    retryable = {name for name, cls in left4me_builder._errors.ERRORS.items()
                 if issubclass(cls, left4me_builder.Retryable)}
    assert retryable == {"org.left4me.Builder.Error.Busy", "org.left4me.Builder.Error.LimitsExceeded",
                         "org.left4me.Builder.Error.AuthorizationUnavailable"}


def test_an_unknown_service_error_is_a_plain_builder_error_with_its_name():
    error = from_gerror(remote_error("org.left4me.Builder.Error.Brandnew", "Something new."))
    assert type(error) is left4me_builder.BuilderError
    assert error.name == "org.left4me.Builder.Error.Brandnew"
    assert str(error) == "Something new."


def io_error(code, message):
    return GLib.Error.new_literal(Gio.io_error_quark(), message, code)


def test_a_timeout_is_a_timeout_error_and_a_closed_connection_a_connection_error():
    timeout = from_gerror(io_error(Gio.IOErrorEnum.TIMED_OUT, "Timeout was reached"))
    assert type(timeout) is left4me_builder.CallTimeout and isinstance(timeout, TimeoutError)
    assert isinstance(timeout, left4me_builder.BusError) and str(timeout) == "Timeout was reached"
    assert timeout.name == "org.freedesktop.DBus.Error.Timeout"
    closed = from_gerror(io_error(Gio.IOErrorEnum.CLOSED, "The connection is closed"))
    assert type(closed) is left4me_builder.Disconnected and isinstance(closed, ConnectionError)
    assert closed.name == "org.freedesktop.DBus.Error.Disconnected"
    assert not isinstance(closed, left4me_builder.Retryable)


def test_other_bus_errors_and_local_failures_are_bus_errors():
    error = from_gerror(remote_error("org.freedesktop.DBus.Error.ServiceUnknown", "The name is not activatable"))
    assert type(error) is left4me_builder.BusError
    assert error.name == "org.freedesktop.DBus.Error.ServiceUnknown"
    assert str(error) == "The name is not activatable"
    other = from_gerror(io_error(Gio.IOErrorEnum.PERMISSION_DENIED, "No"))
    assert type(other) is left4me_builder.BusError and "GDBus" in other.name  # GIO's own encoding, kept


def test_a_log_line_carries_its_number_its_stream_and_its_text_without_the_mark():
    assert LogLine.parse(7, "\x1eoops") == LogLine(7, "stderr", "oops")
    assert LogLine.parse(8, "fine") == LogLine(8, "stdout", "fine")
    number, stream, text = LogLine.parse(9, "")
    assert (number, stream, text) == (9, "stdout", "")


def test_progress_lines_are_parsed_by_the_daemons_rules():
    """The table is the one the daemon's parser is tested against
    (tests/unit/test_progress_cases.cpp)."""
    cases = json.load(open(PROGRESS_CASES))["cases"]
    assert len(cases) >= 40
    for line, *expected in cases:
        report = parse_progress(line)
        if expected[0] is None:
            assert report is None, line
        else:
            assert report is not None, line
            assert math.isclose(report[0], expected[0], rel_tol=1e-12, abs_tol=1e-15), line
            assert report[1] == expected[1], line


def test_merge_delivers_a_batch_that_continues_the_lines():
    assert merge(10, 10, ["a", "b"]) == ["a", "b"]


def test_merge_drops_what_a_replay_already_delivered():
    assert merge(11, 10, ["a", "b", "c"]) == ["b", "c"]
    assert merge(13, 10, ["a", "b", "c"]) == []
    assert merge(99, 10, ["a"]) == []


def test_merge_reports_a_gap_for_the_caller_to_fill():
    assert merge(10, 12, ["c"]) is None


def test_replay_plus_overlapping_signals_give_every_line_once_in_order():
    """Whatever the split between replay and signals, and whatever signals
    are lost, the merge with gap-filling rebuilds the log exactly."""
    log = [f"line {i}" for i in range(1000)]
    rng = random.Random(7)
    for _ in range(200):
        cut = sorted(rng.sample(range(1, 1000), 20))
        batches = [(a, log[a:b]) for a, b in zip([0] + cut, cut + [1000])]
        signals = [b for b in batches[rng.randrange(len(batches)):] if rng.random() > 0.2]  # some lost
        out = list(log[:rng.randrange(1000)])  # the replay read this much
        for first, lines in signals:
            fresh = merge(len(out), first, lines)
            if fresh is None:
                out.extend(log[len(out):first + len(lines)])  # ReadLog fills the gap
                fresh = merge(len(out), first, lines)
            out.extend(fresh)
        out.extend(log[len(out):])  # the last ReadLog after Finished
        assert out == log


def test_a_job_knows_its_id_from_its_path_and_results_tell_success_and_the_end():
    assert Job(None, "/org/left4me/Builder/job/42").id == 42
    assert Result(1, "succeeded", "success", 0).succeeded
    assert not Result(2, "failed", "exit-code", 3).succeeded
    assert Result(3, "cancelled", "signal", 143).ended and not Result(4, "running", "", -1).ended
    assert Result(5, "failed", "resources", -1, "Unit is masked.").status_text == "Unit is masked."


def test_the_package_is_typed_and_documents_every_public_name():
    package = os.path.dirname(left4me_builder.__file__)
    assert os.path.exists(os.path.join(package, "py.typed"))
    for name in left4me_builder.__all__:
        value = getattr(left4me_builder, name)
        if callable(value):
            assert inspect.getdoc(value), name
    for cls in (Builder, Job):
        for name, member in vars(cls).items():
            if not name.startswith("_") and callable(member):
                assert inspect.getdoc(member), f"{cls.__name__}.{name}"
                assert inspect.signature(member).return_annotation is not inspect.Signature.empty, name
