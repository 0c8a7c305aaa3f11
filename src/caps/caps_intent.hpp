#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace left4me {

// What an ApplyCaps with `activate` writes down before it touches the
// binary, and removes once `current` points at the new version. A daemon
// killed in between leaves this file; the next one reads it and either
// finishes nothing or undoes the capabilities, so the add-on is never left
// with the new version's capabilities but the old `current` (see
// CapsService::recover).
struct CapsIntent
{
    std::string addon;
    std::string version;
    std::string binary; // relative to <addons_root>/<addon>/versions/<version>/
    // The binary the capabilities were written to: a file swapped in at the
    // same path afterwards is left alone.
    uint64_t device = 0;
    uint64_t inode = 0;
    // The security.capability xattr before, byte for byte; none: it had none.
    std::optional<std::string> oldXattr;
    // Where `current` pointed before; none: there was no `current`.
    std::optional<std::string> oldCurrent;

    bool operator==(const CapsIntent&) const = default;
};

std::string toJson(const CapsIntent& intent);
// nullopt for anything that is not an intent this version wrote, or whose
// names would not pass ApplyCaps' own argument checks.
std::optional<CapsIntent> capsIntentFromJson(std::string_view text);

} // namespace left4me
