#pragma once

#include "caps/capability_list.hpp"
#include "util/config.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

struct ApplyCapsRequest
{
    std::string addon;
    std::string version;
    std::string binary; // relative to <addons_root>/<addon>/versions/<version>/
    std::vector<std::string> capabilities;
    bool activate = false;
    uid_t caller = 0;
};

// Checks the requested names against libcap and the configured allowlist.
// Throws sdbus::Error: InvalidArgument for a name libcap does not know,
// CapabilityNotAllowed naming the first capability outside the allowlist.
// Returns the check, whose values and names are then safe to use.
CapabilityCheck requireAllowedCapabilities(const Config& config, const std::vector<std::string>& capabilities);

// Sets exactly REQUEST.capabilities (permitted + effective) as the file
// capabilities of the staged binary, and with `activate` points the add-on's
// `current` link at the version. The binary is opened with openat2 beneath
// the add-on root without following any symlink, checked on the fd (regular,
// one link, not group/world-writable, owned by root or the owner user, not
// setuid/setgid) and the capabilities are written to that fd, never by path.
// If activation fails, the binary's previous capabilities are restored.
// Throws sdbus::Error: InvalidArgument, CapabilityNotAllowed or Failed.
void applyCaps(const Config& config, const ApplyCapsRequest& request);

} // namespace left4me
