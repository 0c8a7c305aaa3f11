#pragma once

#include "ops/options.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

// One Mount, checked: what MountService::mount takes.
struct MountRequest
{
    uid_t caller = 0;
    std::string instance;
    std::vector<std::string> layers; // topmost first
    bool readOnly = false;
    bool persistent = false;
};

// One Unmount, checked.
struct UnmountRequest
{
    uid_t caller = 0;
    std::string instance;
};

// Mount's options and the D-Bus type of each.
const OptionTable& mountOptionTable();

// The requests from the calls' arguments, each checked. Throw OpError
// (invalidArgument) naming the argument and the rule.
MountRequest mountRequest(uid_t caller, std::string instance, std::vector<std::string> layers,
                          const PlainOptions& options);
UnmountRequest unmountRequest(uid_t caller, std::string instance);

} // namespace left4me
