#include "builds/build_request.hpp"
#include "builds/unit_properties.hpp"

#include <doctest/doctest.h>

using namespace left4me;

namespace {
BuildLimits ceilings()
{
    BuildLimits limits;
    limits.memoryMaxBytes = 1ULL << 30U;
    limits.tasksMax = 100;
    limits.cpuQuotaPercent = 200;
    limits.timeoutSec = 600;
    return limits;
}

std::string problemOf(const std::map<std::string, OptionValue>& options)
{
    auto parsed = parseBuildOptions(options, ceilings());
    auto* problem = std::get_if<std::string>(&parsed);
    return problem != nullptr ? *problem : std::string();
}
} // namespace

TEST_CASE("without options a build gets the configured limits and public network")
{
    auto options = std::get<BuildOptions>(parseBuildOptions({}, ceilings()));
    CHECK(options.limits.memoryMaxBytes == 1ULL << 30U);
    CHECK(options.limits.timeoutSec == 600);
    CHECK(options.network == Network::publicOnly);
    CHECK(options.environment.empty());
    CHECK_FALSE(options.skipIfUnchanged);
}

TEST_CASE("limits may be lowered within the configured ceilings, never raised")
{
    auto options = std::get<BuildOptions>(parseBuildOptions({{"memory_max", uint64_t{1} << 20U},
                                                             {"cpu_quota", uint32_t{50}},
                                                             {"tasks_max", uint64_t{10}},
                                                             {"timeout_sec", uint64_t{5}}},
                                                            ceilings()));
    CHECK(options.limits.memoryMaxBytes == 1U << 20U);
    CHECK(options.limits.cpuQuotaPercent == 50);
    CHECK(options.limits.tasksMax == 10);
    CHECK(options.limits.timeoutSec == 5);
    CHECK(problemOf({{"memory_max", uint64_t{2} << 30U}}).find("\"memory_max\"") != std::string::npos);
    CHECK(problemOf({{"tasks_max", uint64_t{0}}}).find("\"tasks_max\"") != std::string::npos);
    CHECK(problemOf({{"timeout_sec", uint64_t{601}}}).find("ceiling") != std::string::npos);
}

TEST_CASE("network is public or none")
{
    CHECK(std::get<BuildOptions>(parseBuildOptions({{"network", std::string("none")}}, ceilings())).network ==
          Network::none);
    CHECK(problemOf({{"network", std::string("private")}}).find("\"network\"") != std::string::npos);
}

TEST_CASE("environment entries are KEY=VALUE with safe keys that do not override the sandbox's")
{
    auto options = std::get<BuildOptions>(
        parseBuildOptions({{"environment", std::vector<std::string>{"MAP=c1m1", "_X1=a=b"}}}, ceilings()));
    CHECK(options.environment == std::vector<std::string>{"MAP=c1m1", "_X1=a=b"});
    for (const char* bad : {"lower=x", "1X=y", "NOEQUALS", "=x", "A-B=x"})
    {
        CAPTURE(bad);
        CHECK(problemOf({{"environment", std::vector<std::string>{bad}}}).find("KEY=VALUE") != std::string::npos);
    }
    for (const char* reserved :
         {"PATH=/tmp", "HOME=/", "OVERLAY=/etc", "SOURCE_DATE_EPOCH=0", "LEFT4ME_BUILD_HASH=x", "LEFT4ME_LOG_LIMIT=1"})
    {
        CAPTURE(reserved);
        CHECK(problemOf({{"environment", std::vector<std::string>{reserved}}}).find("cannot be overridden") !=
              std::string::npos);
    }
    CHECK(problemOf({{"environment", std::vector<std::string>{"A=line\nbreak"}}}).find("line break") !=
          std::string::npos);
    CHECK_FALSE(problemOf({{"environment", std::vector<std::string>(257, "A=b")}}).empty());
}

TEST_CASE("the build hash covers the script and every effective option, and fixes SOURCE_DATE_EPOCH")
{
    BuildOptions base = std::get<BuildOptions>(parseBuildOptions({}, ceilings()));
    auto hash = buildHash("echo hi", base);
    CHECK(hash.size() == 64);
    CHECK(hash == buildHash("echo hi", base));
    CHECK(hash != buildHash("echo ho", base));
    auto other = base;
    other.network = Network::none;
    CHECK(hash != buildHash("echo hi", other));
    other = base;
    other.environment = {"A=1"};
    CHECK(hash != buildHash("echo hi", other));
    other = base;
    other.limits.tasksMax = 1;
    CHECK(hash != buildHash("echo hi", other));
    auto epoch = sourceDateEpoch(hash);
    CHECK(epoch == sourceDateEpoch(hash));
    CHECK(epoch >= 315532800);
    CHECK(epoch < 315532800 + 946684800);
}

TEST_CASE("network none sets the unit's IP allow list to exactly nothing; public leaves it to publicEgress")
{
    auto options = std::get<BuildOptions>(parseBuildOptions({{"network", std::string("none")}}, ceilings()));
    auto allowLists = [](const std::vector<UnitProperty>& properties) {
        std::vector<AddressList> lists;
        for (const auto& p : properties)
        {
            if (p.name == "IPAddressAllow")
            {
                lists.push_back(std::get<AddressList>(p.value));
            }
        }
        return lists;
    };
    auto none = allowLists(buildUnitProperties(options));
    REQUIRE(none.size() == 1);
    CHECK(none[0].prefixes.empty()); // under the template's IPAddressDeny=any: nothing at all
    options.network = Network::publicOnly;
    CHECK(allowLists(buildUnitProperties(options)).empty());
}
