#pragma once

#include "kernel/bind_mount.hpp"
#include "kernel/idmap.hpp"
#include "net/ip_prefix.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace left4me {

// What builds ask of the kernel: the overlay's mount, user namespaces, the
// host's addresses. One seam, so that the service tests drive BuildService
// without root; the daemon uses realBuildKernel().
struct BuildKernel
{
    // The overlay ROOT/OVERLAY resolved with openat2 (and with PROBE, shown
    // to be idmappable). Throws BindError or KernelUnsupported.
    std::function<std::shared_ptr<const BindSource>(const std::string& root, const std::string& overlay, bool probe)>
        openOverlay;
    // SOURCE (null: ROOT/OVERLAY, resolved anew) bound at TARGET through
    // IDMAP. Throws as openOverlay, or std::system_error.
    std::function<BindMount(const std::shared_ptr<const BindSource>& source, const std::string& root,
                            const std::string& overlay, const std::string& target, const Idmap& idmap)>
        bindOverlay;
    std::function<bool(const std::string& target)> isMounted;
    std::function<void(const std::string& target)> detach;
    // Throws std::system_error.
    std::function<std::vector<net::IpPrefix>()> hostNetworks;
};

// The kernel itself, for OWNER's overlays (the probe's mapping).
BuildKernel realBuildKernel();

} // namespace left4me
