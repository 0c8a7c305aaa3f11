#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

// Pure helpers for Mount: where a layer lives, what the overlay's option
// string is, and what systemd calls the mount unit. No bus, no filesystem.
namespace left4me::overlay {

// mount(2) takes the option string in one page, the terminating NUL included.
inline constexpr std::size_t maxOptionsBytes = 4095;

struct LayerLocation
{
    std::string root;     // the configured layer root it lies beneath
    std::string relative; // the rest, to resolve with openat2 beneath the root
};

// Chooses the layer root that LAYER lies beneath, segment by segment (so
// "/srv/a" is not beneath "/srv/ab"). This only picks the root: the caller
// must still resolve RELATIVE beneath the root's fd with openat2, which is
// what keeps symlinks and ".." out. nullopt if LAYER is under no root or is
// a root itself.
std::optional<LayerLocation> locateLayer(const std::string& layer, const std::vector<std::string>& roots);

struct Spec
{
    std::vector<std::string> lowers; // topmost first, as lowerdir= wants
    std::string upper;               // empty for a read-only overlay
    std::string work;
};

// "lowerdir=A:B,upperdir=U,workdir=W,nosuid,nodev". nosuid and nodev are
// always there: no caller can turn them off (udisks' CVE-2025-6019).
std::string options(const Spec& spec);

// systemd's name for the mount unit of WHERE, as `systemd-escape --path
// --suffix=mount` prints it.
std::string mountUnitName(const std::string& where);

} // namespace left4me::overlay
