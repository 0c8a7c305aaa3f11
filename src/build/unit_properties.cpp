#include "build/unit_properties.hpp"

namespace left4me {

std::vector<UnitProperty> buildUnitProperties(const BuildLimits& limits)
{
    constexpr uint64_t usecPerSec = 1000000;
    return {
        {"MemoryMax", limits.memoryMaxBytes},
        {"TasksMax", limits.tasksMax},
        // CPUQuota=P% is CPUQuotaPerSecUSec = P% of one second.
        {"CPUQuotaPerSecUSec", uint64_t{limits.cpuQuotaPercent} * usecPerSec / 100},
        {"RuntimeMaxUSec", limits.timeoutSec * usecPerSec},
    };
}

} // namespace left4me
