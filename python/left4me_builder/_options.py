"""The a{sv} options of StartBuild, Mount, ApplyCaps, InstallUnits, EnableServer and
DisableServer, by name and D-Bus type: the option tables of the XML (its org.left4me.Builder.Options
annotations), which tests/client/test_client_pure.py checks these against."""

from __future__ import annotations

import collections.abc
from typing import Any, Mapping

from gi.repository import GLib

BUILD_OPTIONS = {
    "memory_max": "t",
    "cpu_quota": "u",
    "tasks_max": "t",
    "timeout_sec": "t",
    "network": "s",
    "environment": "as",
    "skip_if_unchanged": "b",
}
MOUNT_OPTIONS = {"read_only": "b", "persistent": "b"}
APPLY_CAPS_OPTIONS = {"activate": "b"}
INSTALL_UNITS_OPTIONS = {"enable": "as", "now": "b"}
SERVER_OPTIONS = {"now": "b"}  # EnableServer and DisableServer

_INT_BITS = {"t": 64, "u": 32}


def pack_options(options: Mapping[str, Any], types: Mapping[str, str]) -> dict[str, GLib.Variant]:
    """OPTIONS (python values; None means "not given") as the a{sv} of a call,
    each with its D-Bus type from TYPES.

    A wrong Python type is a TypeError and a number out of the type's range
    a ValueError, both naming the option, before anything is sent; an
    unknown name is a TypeError too (the methods take explicit keyword
    arguments, so only a direct caller of this function can pass one).
    Whether a value is allowed (a limit above the configured one, an
    environment name) is the service's to say: InvalidArgument."""
    packed = {}
    for key, value in options.items():
        if value is None:
            continue
        signature = types.get(key)
        if signature is None:
            raise TypeError(f"unknown option {key!r}; the options are {', '.join(sorted(types))}")
        packed[key] = GLib.Variant(signature, _checked(key, signature, value))
    return packed


def _checked(key: str, signature: str, value: Any) -> Any:
    if signature == "b":
        if not isinstance(value, bool):
            raise TypeError(f"option {key!r} must be a bool, not {type(value).__name__}")
        return value
    if signature in _INT_BITS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"option {key!r} must be an int, not {type(value).__name__}")
        if not 0 <= value < 1 << _INT_BITS[signature]:
            raise ValueError(f"option {key!r} must be from 0 to {(1 << _INT_BITS[signature]) - 1}, not {value}")
        return value
    if signature == "s":
        if not isinstance(value, str):
            raise TypeError(f"option {key!r} must be a str, not {type(value).__name__}")
        return value
    # "as": the environment, as a mapping or as KEY=VALUE strings.
    if isinstance(value, collections.abc.Mapping):
        value = [f"{name}={text}" for name, text in value.items()]
    if isinstance(value, (str, bytes)) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"option {key!r} must be a mapping or a list of str")
    return list(value)
