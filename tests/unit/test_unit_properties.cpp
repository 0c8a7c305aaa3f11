#include "builds/unit_properties.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("the build limits from the configuration become systemd unit properties")
{
    BuildLimits limits;
    limits.memoryMaxBytes = 512ULL << 20U;
    limits.tasksMax = 100;
    limits.cpuQuotaPercent = 150;
    limits.timeoutSec = 60;
    BuildOptions options;
    options.limits = limits;
    auto properties = buildUnitProperties(options);
    auto value = [&](const std::string& name) {
        for (const auto& p : properties)
        {
            if (p.name == name)
            {
                return std::get<uint64_t>(p.value);
            }
        }
        FAIL("missing property " << name);
        return uint64_t{0};
    };
    CHECK(value("MemoryMax") == 512ULL << 20U);
    CHECK(value("TasksMax") == 100);
    CHECK(value("CPUQuotaPerSecUSec") == 1500000);
    for (const auto& p : properties)
    {
        // Not settable at runtime on a template instance; BuildJob enforces it.
        CHECK(p.name != "RuntimeMaxUSec");
    }
}
