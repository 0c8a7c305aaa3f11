#pragma once

#include "builds/build_request.hpp"
#include "systemd/systemd_client.hpp"

#include <vector>

namespace left4me {

// The runtime properties set on a build instance before it starts: the
// resource limits (the configuration's, or the caller's within them) and,
// for network "none", an empty IP allow list under the template's
// IPAddressDeny=any. Everything else about the sandbox lives in the shipped
// template, where an admin can read and override it with a drop-in.
std::vector<UnitProperty> buildUnitProperties(const BuildOptions& options);

// For network "public": the instance's allow list becomes TEMPLATE_ALLOW
// (the template's public ranges, drop-ins included) less HOST_NETWORKS, so
// that no build reaches the host itself, whatever its addresses, nor its
// LAN. systemd's allow list wins over its deny list, so a public address of
// the host has to leave the allow list; denying it would not do.
std::vector<UnitProperty> publicEgress(const std::vector<net::IpPrefix>& templateAllow,
                                       const std::vector<net::IpPrefix>& hostNetworks);

} // namespace left4me
