#pragma once

#include "build/build_options.hpp"
#include "systemd/systemd_client.hpp"

#include <vector>

namespace left4me {

// The runtime properties set on a build instance before it starts: the
// resource limits (the configuration's, or the caller's within them) and,
// for network "none", an empty IP allow list under the template's
// IPAddressDeny=any. Everything else about the sandbox lives in the shipped
// template, where an admin can read and override it with a drop-in.
std::vector<UnitProperty> buildUnitProperties(const BuildOptions& options);

} // namespace left4me
