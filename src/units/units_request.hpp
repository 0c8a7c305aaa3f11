#pragma once

#include "ops/options.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

// One InstallUnits, checked: what UnitsService::install takes.
struct InstallUnitsRequest
{
    uid_t caller = 0;
    std::string addon;
    std::string version;
    // Unit file names in <addons_root>/<addon>/versions/<version>/units/,
    // each "<addon>-...service" or "<addon>-...timer", no duplicates.
    std::vector<std::string> units;
    std::vector<std::string> enable; // a subset of units
    bool now = false;                // start (or restart) the enabled units
};

// One RemoveUnits, checked.
struct RemoveUnitsRequest
{
    uid_t caller = 0;
    std::string addon;
};

// InstallUnits' options and the D-Bus type of each.
const OptionTable& unitsOptionTable();

// The requests from the calls' arguments, each checked. Throw OpError
// (invalidArgument) naming the argument and the rule.
InstallUnitsRequest installUnitsRequest(uid_t caller, std::string addon, std::string version,
                                        std::vector<std::string> units, const PlainOptions& options);
RemoveUnitsRequest removeUnitsRequest(uid_t caller, std::string addon);

} // namespace left4me
