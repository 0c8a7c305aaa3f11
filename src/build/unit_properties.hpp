#pragma once

#include "systemd/systemd_client.hpp"
#include "util/config.hpp"

#include <vector>

namespace left4me {

// The runtime properties set on a build instance before it starts: the
// resource limits from the configuration. Everything else about the
// sandbox lives in the shipped template, where an admin can read and
// override it with a drop-in.
std::vector<UnitProperty> buildUnitProperties(const BuildLimits& limits);

} // namespace left4me
