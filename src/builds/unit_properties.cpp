#include "builds/unit_properties.hpp"

namespace left4me {

std::vector<UnitProperty> buildUnitProperties(const BuildOptions& options)
{
    const auto& limits = options.limits;
    // RuntimeMaxUSec is missing on purpose: systemd accepts it at runtime
    // only for transient units, so the daemon enforces timeout_sec itself
    // (BuildJob), and the template's RuntimeMaxSec= is the backstop.
    constexpr uint64_t usecPerSec = 1000000;
    std::vector<UnitProperty> properties = {
        {"MemoryMax", limits.memoryMaxBytes},
        {"TasksMax", limits.tasksMax},
        // CPUQuota=P% is CPUQuotaPerSecUSec = P% of one second.
        {"CPUQuotaPerSecUSec", uint64_t{limits.cpuQuotaPercent} * usecPerSec / 100},
    };
    if (options.network == Network::none)
    {
        // The template denies any address but its public allow list;
        // emptying the list denies everything, loopback included.
        properties.push_back({"IPAddressAllow", AddressList{}});
    }
    return properties;
}

std::vector<UnitProperty> publicEgress(const std::vector<net::IpPrefix>& templateAllow,
                                       const std::vector<net::IpPrefix>& hostNetworks)
{
    // Empty first (clears the template's list on the instance), then the
    // template's own ranges less every network the host is on.
    return {{"IPAddressAllow", AddressList{}},
            {"IPAddressAllow", AddressList{net::subtract(templateAllow, hostNetworks)}}};
}

} // namespace left4me
