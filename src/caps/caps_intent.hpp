#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace left4me {

// What an ApplyCaps writes down before it puts its capable copy of the
// binary in place, and removes once the call is done (with `activate`, once
// `current` points at the new version). A daemon killed in between leaves
// this file; the next one reads it, removes the copy's temporary name if it
// is still there, and with `activate` undoes the capabilities unless
// `current` was moved, so the add-on is never left with the new version's
// capabilities but the old `current` (see CapsService::recover).
struct CapsIntent
{
    std::string addon;
    std::string version;
    std::string binary; // relative to <addons_root>/<addon>/versions/<version>/
    // The root-owned copy the capabilities were written to: a file swapped in
    // at the same path afterwards is left alone.
    uint64_t device = 0;
    uint64_t inode = 0;
    // The security.capability xattr before, byte for byte; none: it had none.
    std::optional<std::string> oldXattr;
    // Where `current` pointed before; none: there was no `current`.
    std::optional<std::string> oldCurrent;
    // Whether the call moves `current` (intents of older releases always did).
    bool activate = true;
    // The copy's temporary name beside the binary, until it is renamed over
    // it; empty in intents of older releases, which wrote in place.
    std::string tmpName;

    bool operator==(const CapsIntent&) const = default;
};

// The start of a copy's temporary name beside BINARY (a relative path).
std::string capsTmpPrefix(const std::string& binary);

std::string toJson(const CapsIntent& intent);
// nullopt for anything that is not an intent this version wrote, or whose
// names would not pass ApplyCaps' own argument checks.
std::optional<CapsIntent> capsIntentFromJson(std::string_view text);

} // namespace left4me
