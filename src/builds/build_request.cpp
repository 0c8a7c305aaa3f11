#include "builds/build_request.hpp"

#include "util/printable.hpp"
#include "validate/require.hpp"

#include <glib.h>

#include <algorithm>
#include <array>
#include <memory>

namespace left4me {

namespace {

constexpr std::array reservedVariables = {"PATH", "HOME", "OVERLAY", "SOURCE_DATE_EPOCH"};
constexpr std::size_t maxEnvironmentEntries = 256;
constexpr std::size_t maxEnvironmentBytes = 64 * std::size_t{1024};

bool validVariableName(const std::string& key)
{
    if (key.empty() || !((key[0] >= 'A' && key[0] <= 'Z') || key[0] == '_'))
    {
        return false;
    }
    return std::all_of(key.begin(), key.end(),
                       [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; });
}

// A limit given by the caller must lie within the configured ceiling.
template <typename T>
std::optional<std::string> limit(const std::map<std::string, OptionValue>& options, const char* key, T ceiling, T& out,
                                 const char* unit)
{
    auto it = options.find(key);
    if (it == options.end())
    {
        return std::nullopt;
    }
    auto value = std::get<T>(it->second);
    if (value == 0 || value > ceiling)
    {
        return std::string("key \"") + key + "\" must be from 1 to " + std::to_string(ceiling) + " " + unit +
               " (the configured ceiling), not " + std::to_string(value);
    }
    out = value;
    return std::nullopt;
}

} // namespace

const OptionTable& buildOptionTable()
{
    static const OptionTable signatures = {
        {"memory_max", "t"}, {"cpu_quota", "u"},    {"tasks_max", "t"},         {"timeout_sec", "t"},
        {"network", "s"},    {"environment", "as"}, {"skip_if_unchanged", "b"},
    };
    return signatures;
}

std::variant<BuildOptions, std::string> parseBuildOptions(const std::map<std::string, OptionValue>& options,
                                                          const BuildLimits& ceilings)
{
    BuildOptions out;
    out.limits = ceilings;
    for (const auto& problem :
         {limit(options, "memory_max", ceilings.memoryMaxBytes, out.limits.memoryMaxBytes, "bytes"),
          limit(options, "cpu_quota", ceilings.cpuQuotaPercent, out.limits.cpuQuotaPercent, "percent of one CPU"),
          limit(options, "tasks_max", ceilings.tasksMax, out.limits.tasksMax, "tasks"),
          limit(options, "timeout_sec", ceilings.timeoutSec, out.limits.timeoutSec, "seconds")})
    {
        if (problem)
        {
            return *problem;
        }
    }
    if (auto it = options.find("network"); it != options.end())
    {
        const auto& value = std::get<std::string>(it->second);
        if (value == "none")
        {
            out.network = Network::none;
        }
        else if (value != "public")
        {
            return "key \"network\" must be \"public\" or \"none\", not " + quoteArgument(value, 32);
        }
    }
    if (auto it = options.find("environment"); it != options.end())
    {
        const auto& entries = std::get<std::vector<std::string>>(it->second);
        std::size_t bytes = 0;
        for (const auto& entry : entries)
        {
            auto equals = entry.find('=');
            auto key = entry.substr(0, equals);
            if (equals == std::string::npos || !validVariableName(key))
            {
                return "key \"environment\": " + quoteArgument(entry) +
                       " must be KEY=VALUE with KEY matching [A-Z_][A-Z0-9_]*";
            }
            // LEFT4ME_*: the daemon's own (the build hash, the relay's log limit).
            if (std::find(reservedVariables.begin(), reservedVariables.end(), key) != reservedVariables.end() ||
                key.rfind("LEFT4ME_", 0) == 0)
            {
                return "key \"environment\": " + key + " is set by the sandbox and cannot be overridden";
            }
            if (entry.find_first_of("\n\r") != std::string::npos)
            {
                return "key \"environment\": the value of " + key + " contains a line break";
            }
            bytes += entry.size();
        }
        if (entries.size() > maxEnvironmentEntries || bytes > maxEnvironmentBytes)
        {
            return "key \"environment\" may hold at most 256 variables and 64 KiB";
        }
        out.environment = entries;
    }
    if (auto it = options.find("skip_if_unchanged"); it != options.end())
    {
        out.skipIfUnchanged = std::get<bool>(it->second);
    }
    return out;
}

BuildRequest buildRequest(uid_t caller, std::string overlay, std::string script, const PlainOptions& options,
                          const BuildLimits& ceilings)
{
    require("overlay", validate::overlayName(overlay));
    require("script", validate::script(script));
    auto parsed = parseBuildOptions(options, ceilings);
    if (auto* problem = std::get_if<std::string>(&parsed))
    {
        require("options", *problem);
    }
    return {caller, std::move(overlay), std::move(script), std::get<BuildOptions>(std::move(parsed))};
}

std::string buildHash(const std::string& script, const BuildOptions& options)
{
    // Canonical: every effective input, in a fixed order, length-prefixed so
    // that no two different inputs serialize alike.
    std::string canonical;
    auto add = [&](const std::string& field) { canonical += std::to_string(field.size()) + ":" + field + ";"; };
    add(script);
    add(std::to_string(options.limits.memoryMaxBytes));
    add(std::to_string(options.limits.cpuQuotaPercent));
    add(std::to_string(options.limits.tasksMax));
    add(std::to_string(options.limits.timeoutSec));
    add(options.network == Network::none ? "none" : "public");
    for (const auto& entry : options.environment)
    {
        add(entry);
    }
    std::unique_ptr<GChecksum, decltype(&g_checksum_free)> sum(g_checksum_new(G_CHECKSUM_SHA256), g_checksum_free);
    g_checksum_update(sum.get(), reinterpret_cast<const guchar*>(canonical.data()),
                      static_cast<gssize>(canonical.size()));
    return g_checksum_get_string(sum.get());
}

uint64_t sourceDateEpoch(const std::string& buildHash)
{
    constexpr uint64_t from = 315532800; // 1980-01-01
    constexpr uint64_t span = 946684800; // 30 years
    uint64_t bits = std::stoull(buildHash.substr(0, 8), nullptr, 16);
    return from + bits % span;
}

} // namespace left4me
