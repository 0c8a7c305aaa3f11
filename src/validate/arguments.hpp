#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Pure validators for every argument the bus accepts. Each returns nullopt
// when the value is fine, or a sentence saying which rule it broke; the
// caller prefixes the argument's name. No bus, no filesystem.
namespace left4me::validate {

using Problem = std::optional<std::string>;

inline constexpr std::size_t maxScriptBytes = std::size_t{1024} * 1024;
inline constexpr std::size_t maxLayers = 64;
inline constexpr std::size_t maxBinarySegments = 8;

// overlay and instance names: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}.
Problem overlayName(std::string_view name);
Problem instanceName(std::string_view name);
// add-on and version names also allow '+': [A-Za-z0-9][A-Za-z0-9_.+-]{0,63}.
Problem addonSegment(std::string_view name);
// A template unit a server is an instance of, as server_templates lists
// it: [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}@.service, never needing systemd's
// escapes, and not the daemon's own build template.
Problem serverTemplate(std::string_view name);

Problem script(std::string_view source);

// An absolute, normalized path (no "." or ".." or empty segments, no trailing
// slash) without characters that would change the meaning of a mount option
// string: ',', ':', '\\', '=', newline or any control character.
Problem absoluteDirectoryPath(std::string_view path);

// 1 to 8 add-on segments joined by '/', relative.
Problem relativeBinaryPath(std::string_view path);

Problem layers(const std::vector<std::string>& layers);

inline constexpr std::size_t maxAddonUnits = 32;

// A unit file name an add-on may install: "<addon>-NAME.service" or
// "<addon>-NAME.timer", NAME of [A-Za-z0-9:_.-] (no template, no escapes),
// at most 255 characters in all, as systemd allows.
Problem addonUnitName(std::string_view addon, std::string_view name);

// A POSIX-ish user name as sysusers.d accepts it.
Problem userName(std::string_view name);

// "CAP_BPF", "bpf" and "cap_bpf" all give "cap_bpf"; nullopt if it cannot be
// a capability name at all. Whether the kernel knows it is checked elsewhere.
std::optional<std::string> normalizeCapabilityName(std::string_view name);

// Option dictionaries (a{sv}): KEY -> D-Bus signature of the value, as sent.
// ALLOWED maps every accepted key to the signature it must have. Unknown keys
// and wrong types are errors, never ignored.
Problem options(const std::map<std::string, std::string>& given, const std::map<std::string, std::string>& allowed);

} // namespace left4me::validate
