"""The Python client's pure parts, without a bus: option packing, the error
table and the merge of replayed and live log lines."""

import os
import random
import re

import pytest
from gi.repository import Gio, GLib

import left4me_builder
from left4me_builder._client import Job, Result, merge, pack_options
from left4me_builder._errors import from_gerror

NAMES_HPP = os.path.join(os.path.dirname(__file__), "..", "..", "src", "bus", "names.hpp")


def signatures(packed):
    return {key: value.get_type_string() for key, value in packed.items()}


def test_known_options_get_the_types_of_the_xml_whatever_the_python_type():
    packed = pack_options({"memory_max": 1 << 30, "cpu_quota": 50, "tasks_max": 64, "timeout_sec": 600,
                           "network": "none", "environment": ["A=1"], "skip_if_unchanged": True})
    assert signatures(packed) == {"memory_max": "t", "cpu_quota": "u", "tasks_max": "t", "timeout_sec": "t",
                                  "network": "s", "environment": "as", "skip_if_unchanged": "b"}
    assert packed["cpu_quota"].get_uint32() == 50


def test_the_environment_may_be_a_mapping_or_key_value_strings():
    assert pack_options({"environment": {"MAP": "c1m1", "TAG": "a=b"}})["environment"].unpack() == \
        ["MAP=c1m1", "TAG=a=b"]
    assert pack_options({"environment": ("X=1",)})["environment"].unpack() == ["X=1"]


def test_unknown_options_are_packed_by_python_type_and_sent_for_the_service_to_judge():
    packed = pack_options({"flag": True, "count": 3, "delta": -1, "ratio": 0.5, "name": "x", "names": ["a"]})
    assert signatures(packed) == {"flag": "b", "count": "t", "delta": "x", "ratio": "d", "name": "s",
                                  "names": "as"}
    with pytest.raises(TypeError, match="'blob'"):
        pack_options({"blob": object()})


def test_a_variant_is_sent_as_given_and_a_wrong_python_value_fails_locally():
    assert signatures(pack_options({"cpu_quota": GLib.Variant("t", 5)})) == {"cpu_quota": "t"}
    with pytest.raises((TypeError, OverflowError)):
        pack_options({"memory_max": "2G"})
    with pytest.raises((TypeError, OverflowError)):
        pack_options({"memory_max": -1})


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


def test_an_unknown_service_error_is_a_plain_builder_error_with_its_name():
    error = from_gerror(remote_error("org.left4me.Builder.Error.Brandnew", "Something new."))
    assert type(error) is left4me_builder.BuilderError
    assert error.name == "org.left4me.Builder.Error.Brandnew"
    assert str(error) == "Something new."


def test_other_bus_errors_and_local_failures_are_bus_errors():
    error = from_gerror(remote_error("org.freedesktop.DBus.Error.ServiceUnknown", "The name is not activatable"))
    assert type(error) is left4me_builder.BusError
    assert error.name == "org.freedesktop.DBus.Error.ServiceUnknown"
    assert str(error) == "The name is not activatable"
    timeout = from_gerror(GLib.Error.new_literal(Gio.io_error_quark(), "Timeout was reached",
                                                 Gio.IOErrorEnum.TIMED_OUT))
    assert type(timeout) is left4me_builder.BusError and str(timeout) == "Timeout was reached"
    assert isinstance(timeout, left4me_builder.BuilderError)


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


def test_a_job_knows_its_id_from_its_path_and_results_tell_success():
    assert Job(None, "/org/left4me/Builder/job/42").id == 42
    assert Result("succeeded", "success", 0).succeeded
    assert not Result("failed", "exit-code", 3).succeeded
