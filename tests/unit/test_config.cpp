#include "util/config.hpp"

#include <doctest/doctest.h>

using namespace left4me;

namespace {
std::string errorOf(const std::string& json)
{
    try
    {
        parseConfig(json);
    }
    catch (const ConfigError& e)
    {
        return e.what();
    }
    return {};
}
} // namespace

TEST_CASE("an empty configuration gives the documented defaults")
{
    auto config = parseConfig("{}");
    CHECK(config.overlaysRoot == "/var/lib/left4me/overlays");
    CHECK(config.runtimeRoot == "/var/lib/left4me/runtime");
    CHECK(config.addonsRoot == "/var/lib/left4me/addons");
    CHECK(config.ownerUser == "left4me");
    CHECK(config.idleTimeoutSec == 30);
    CHECK(config.layerRoots.size() == 4);
    CHECK(config.capsAllowlist.size() == 5);
    CHECK(config.maxRunningBuilds == 16);
    CHECK(config.maxRunningBuildsPerUser == 8);
    CHECK(config.polkitTimeoutSec == 20);
    CHECK(config.polkitInteractiveTimeoutSec == 300);
    CHECK(config.jobRetentionSec == 7 * 86400);
    CHECK(config.jobRetentionCount == 100);
}

TEST_CASE("configuration keys override the defaults")
{
    auto config = parseConfig(R"({"overlays_root": "/srv/overlays", "limits": {"memory_max": 1048576,
        "tasks_max": 64, "cpu_quota": 50, "timeout_sec": 10}, "idle_timeout_sec": 5,
        "caps_allowlist": ["CAP_NET_RAW"], "sandbox_user": "left4me-sandbox", "max_running_builds_per_user": 2,
        "polkit_interactive_timeout_sec": 60, "job_retention_sec": 3600, "job_retention_count": 5})");
    CHECK(config.overlaysRoot == "/srv/overlays");
    CHECK(config.limits.memoryMaxBytes == 1048576);
    CHECK(config.limits.tasksMax == 64);
    CHECK(config.limits.cpuQuotaPercent == 50);
    CHECK(config.limits.timeoutSec == 10);
    CHECK(config.idleTimeoutSec == 5);
    CHECK(config.capsAllowlist == std::vector<std::string>{"cap_net_raw"});
    CHECK(config.maxRunningBuildsPerUser == 2);
    CHECK(config.polkitInteractiveTimeoutSec == 60);
    CHECK(config.jobRetentionSec == 3600);
    CHECK(config.jobRetentionCount == 5);
}

TEST_CASE("an unknown key stops the daemon with an error naming the key")
{
    CHECK(errorOf(R"({"overlay_root": "/x"})").find("\"overlay_root\": unknown key") != std::string::npos);
    CHECK(errorOf(R"({"limits": {"memroy_max": 1}})").find("\"limits.memroy_max\"") != std::string::npos);
}

TEST_CASE("a bad value stops the daemon with an error naming the key")
{
    CHECK(errorOf(R"({"overlays_root": "relative"})").find("\"overlays_root\"") != std::string::npos);
    CHECK(errorOf(R"({"overlays_root": 5})").find("\"overlays_root\"") != std::string::npos);
    CHECK(errorOf(R"({"limits": {"tasks_max": 0}})").find("\"limits.tasks_max\"") != std::string::npos);
    CHECK(errorOf(R"({"limits": {"tasks_max": -1}})").find("\"limits.tasks_max\"") != std::string::npos);
    CHECK(errorOf(R"({"idle_timeout_sec": "30"})").find("\"idle_timeout_sec\"") != std::string::npos);
    CHECK(errorOf(R"({"owner_user": "Bad:Name"})").find("\"owner_user\"") != std::string::npos);
    CHECK(errorOf(R"({"caps_allowlist": ["cap net"]})").find("\"caps_allowlist\"") != std::string::npos);
    CHECK(errorOf(R"({"sandbox_user": "left4me"})").find("\"sandbox_user\"") != std::string::npos);
    // Obsolete: builds run as dynamic users; only the old default is still read.
    CHECK(errorOf(R"({"sandbox_user": "builder"})").find("dynamic user of its own") != std::string::npos);
    CHECK(errorOf("[1]").find("JSON object") != std::string::npos);
    CHECK(errorOf("{").find("not valid JSON") != std::string::npos);
}

TEST_CASE("a number too big for JSON's doubles is a configuration error, not a crash")
{
    // Found by the config fuzz target: nlohmann::json throws out_of_range,
    // not parse_error, for it, and the daemon died by std::terminate.
    CHECK(errorOf(R"({"limits": {"tasks_max": 1e400}})").find("not valid JSON") != std::string::npos);
}

TEST_CASE("a missing configuration file means all defaults")
{
    auto config = loadConfig("/nonexistent/left4me/builder.json");
    CHECK(config.overlaysRoot == "/var/lib/left4me/overlays");
}

TEST_CASE("timeout_warning_percent: 75 by default, 0 never warns, 100 and more are refused")
{
    CHECK(parseConfig("{}").timeoutWarningPercent == 75);
    CHECK(parseConfig(R"({"timeout_warning_percent": 0})").timeoutWarningPercent == 0);
    CHECK(parseConfig(R"({"timeout_warning_percent": 99})").timeoutWarningPercent == 99);
    for (const auto* bad : {"100", "-1", "50.5", "\"75\"", "true"})
    {
        CAPTURE(bad);
        CHECK(errorOf(std::string(R"({"timeout_warning_percent": )") + bad + "}")
                  .find("\"timeout_warning_percent\": must be a whole number from 0 (never warn) to 99") !=
              std::string::npos);
    }
}

TEST_CASE("server_templates lists template units only, and never the daemon's own")
{
    CHECK(parseConfig("{}").serverTemplates == std::vector<std::string>{"left4me-server@.service"});
    CHECK(parseConfig(R"({"server_templates": ["game@.service", "a.b:c-d_e@.service"]})").serverTemplates ==
          std::vector<std::string>{"game@.service", "a.b:c-d_e@.service"});
    CHECK(parseConfig(R"({"server_templates": []})").serverTemplates.empty());
    for (const char* bad :
         {R"("left4me-server@.service")", R"([5])", R"(["ssh.service"])", R"(["game@1.service"])", R"(["game@.timer"])",
          R"(["@.service"])", R"(["-game@.service"])", R"(["a\\x2fb@.service"])", R"(["a/b@.service"])"})
    {
        CAPTURE(bad);
        CHECK(errorOf(std::string(R"({"server_templates": )") + bad + "}").find("\"server_templates\"") !=
              std::string::npos);
    }
    CHECK(errorOf(R"({"server_templates": ["left4me-build@.service"]})").find("own build template") !=
          std::string::npos);
}
