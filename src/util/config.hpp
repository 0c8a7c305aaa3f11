#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace left4me {

struct BuildLimits
{
    uint64_t memoryMaxBytes = 2ULL * 1024 * 1024 * 1024;
    uint64_t tasksMax = 512;
    uint32_t cpuQuotaPercent = 200; // percent of one CPU
    uint64_t timeoutSec = 3600;
};

// The daemon's configuration: compiled-in defaults, overridden key by key by
// /etc/left4me/builder.json. See left4me-builderd(8) and README.md.
struct Config
{
    std::string overlaysRoot = "/var/lib/left4me/overlays";
    std::string runtimeRoot = "/var/lib/left4me/runtime";
    std::string addonsRoot = "/var/lib/left4me/addons";
    std::vector<std::string> layerRoots = {"/var/lib/left4me/installation", "/var/lib/left4me/overlays",
                                           "/var/lib/left4me/global_overlay_cache", "/var/lib/left4me/workshop_cache"};
    std::vector<std::string> capsAllowlist = {"cap_net_raw", "cap_net_admin", "cap_net_bind_service", "cap_bpf",
                                              "cap_perfmon"};
    // The templates whose instances EnableServer and DisableServer may
    // enable and disable at boot; the first is the default. Empty: none.
    std::vector<std::string> serverTemplates = {"left4me-server@.service"};
    std::string ownerUser = "left4me";
    // The users an add-on's units may run as (InstallUnits); empty: the
    // owner user alone. Never root.
    std::vector<std::string> unitUsers;
    BuildLimits limits;
    uint32_t idleTimeoutSec = 30;
    uint32_t polkitTimeoutSec = 20;
    // A check that may show an authentication dialog waits for a person
    // typing a password, so it gets its own, longer bound.
    uint32_t polkitInteractiveTimeoutSec = 300;
    uint32_t maxRunningBuilds = 16;
    // Per caller uid, so that one caller cannot take every slot.
    uint32_t maxRunningBuildsPerUser = 8;
    // A build's job warns that it will be stopped once this share of its
    // timeout has passed (15 minutes of 20, as the ISO builder does); 0
    // never warns.
    uint32_t timeoutWarningPercent = 75;
    // Ended jobs (object, record and log) are kept this long, and at most
    // this many; then they are removed together.
    uint64_t jobRetentionSec = uint64_t{7} * 86400;
    uint32_t jobRetentionCount = 100;
    // One build's log may not grow past this: the sandbox's relay stops the
    // build there (result "log-limit"), so disk use stays bounded by
    // (jobRetentionCount + running builds) x maxLogBytes.
    uint64_t maxLogBytes = uint64_t{64} * 1024 * 1024;
    // Run builds even where cgroup limits cannot be enforced (cgroup v1 or
    // hybrid hosts, containers); each build then logs a warning.
    bool allowUnenforcedLimits = false;
};

class ConfigError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

// Applies the JSON document TEXT on top of the defaults. Throws ConfigError
// naming the offending key for an unknown key, a wrong type or a bad value.
Config parseConfig(std::string_view text);

// Reads PATH; a missing file means "all defaults". Throws ConfigError.
Config loadConfig(const std::filesystem::path& path);

} // namespace left4me
