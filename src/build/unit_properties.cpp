#include "build/unit_properties.hpp"

namespace left4me {

std::vector<UnitProperty> buildUnitProperties(const BuildLimits& limits)
{
    // RuntimeMaxUSec is missing on purpose: systemd accepts it at runtime
    // only for transient units, so the daemon enforces timeout_sec itself
    // (BuildJob), and the template's RuntimeMaxSec= is the backstop.
    constexpr uint64_t usecPerSec = 1000000;
    return {
        {"MemoryMax", limits.memoryMaxBytes},
        {"TasksMax", limits.tasksMax},
        // CPUQuota=P% is CPUQuotaPerSecUSec = P% of one second.
        {"CPUQuotaPerSecUSec", uint64_t{limits.cpuQuotaPercent} * usecPerSec / 100},
    };
}

} // namespace left4me
