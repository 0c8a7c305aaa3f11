#pragma once

#include "caps/capability_list.hpp"
#include "ops/options.hpp"
#include "util/config.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

// One ApplyCaps, checked: what CapsService::apply takes.
struct ApplyCapsRequest
{
    uid_t caller = 0;
    std::string addon;
    std::string version;
    std::string binary; // relative to <addons_root>/<addon>/versions/<version>/
    // Known to libcap and in the allowlist: values and normalized names.
    CapabilityCheck capabilities;
    bool activate = false;
};

// ApplyCaps's options and the D-Bus type of each.
const OptionTable& capsOptionTable();

// The request from ApplyCaps's arguments, each checked, the capabilities
// against libcap and the configured allowlist. Throws OpError:
// InvalidArgument naming the argument and the rule, CapabilityNotAllowed
// naming the first capability outside the allowlist.
ApplyCapsRequest applyCapsRequest(uid_t caller, std::string addon, std::string version, std::string binary,
                                  const std::vector<std::string>& capabilities, const PlainOptions& options,
                                  const Config& config);

} // namespace left4me
