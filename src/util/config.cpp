#include "util/config.hpp"

#include "validate/arguments.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace left4me {

namespace {

using Json = nlohmann::json;

[[noreturn]] void fail(const std::string& key, const std::string& why)
{
    throw ConfigError("configuration key \"" + key + "\": " + why);
}

std::string absolutePath(const Json& value, const std::string& key)
{
    if (!value.is_string())
    {
        fail(key, "must be a string holding an absolute path");
    }
    auto path = value.get<std::string>();
    if (auto problem = validate::absoluteDirectoryPath(path))
    {
        fail(key, *problem);
    }
    return path;
}

std::vector<std::string> pathList(const Json& value, const std::string& key)
{
    if (!value.is_array() || value.empty())
    {
        fail(key, "must be a non-empty array of absolute paths");
    }
    std::vector<std::string> out;
    for (const auto& item : value)
    {
        out.push_back(absolutePath(item, key));
    }
    return out;
}

std::string userName(const Json& value, const std::string& key)
{
    if (!value.is_string())
    {
        fail(key, "must be a string holding a user name");
    }
    auto name = value.get<std::string>();
    if (auto problem = validate::userName(name))
    {
        fail(key, *problem);
    }
    return name;
}

// Room for the relay's closing line and a last partial line or two.
constexpr uint64_t minLogBytes = uint64_t{1024} * 1024;

uint64_t positive(const Json& value, const std::string& key, uint64_t max)
{
    if (!value.is_number_unsigned() || value.get<uint64_t>() == 0 || value.get<uint64_t>() > max)
    {
        fail(key, "must be a whole number from 1 to " + std::to_string(max));
    }
    return value.get<uint64_t>();
}

std::vector<std::string> capabilityList(const Json& value, const std::string& key)
{
    if (!value.is_array())
    {
        fail(key, "must be an array of capability names such as \"cap_net_raw\"");
    }
    std::vector<std::string> out;
    for (const auto& item : value)
    {
        if (!item.is_string())
        {
            fail(key, "must be an array of capability names such as \"cap_net_raw\"");
        }
        auto name = validate::normalizeCapabilityName(item.get<std::string>());
        if (!name)
        {
            fail(key, "\"" + item.get<std::string>() + "\" is not a capability name");
        }
        out.push_back(*name);
    }
    return out;
}

std::vector<std::string> templateList(const Json& value, const std::string& key)
{
    if (!value.is_array())
    {
        fail(key, "must be an array of template unit names such as \"left4me-server@.service\"");
    }
    std::vector<std::string> out;
    for (const auto& item : value)
    {
        if (!item.is_string())
        {
            fail(key, "must be an array of template unit names such as \"left4me-server@.service\"");
        }
        if (auto problem = validate::serverTemplate(item.get<std::string>()))
        {
            fail(key, *problem);
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

void applyLimits(BuildLimits& limits, const Json& object)
{
    if (!object.is_object())
    {
        fail("limits", "must be an object");
    }
    for (const auto& [key, value] : object.items())
    {
        const std::string name = "limits." + key;
        if (key == "memory_max")
        {
            limits.memoryMaxBytes = positive(value, name, UINT64_MAX);
        }
        else if (key == "tasks_max")
        {
            limits.tasksMax = positive(value, name, 1U << 22U);
        }
        else if (key == "cpu_quota")
        {
            limits.cpuQuotaPercent = static_cast<uint32_t>(positive(value, name, 100000));
        }
        else if (key == "timeout_sec")
        {
            limits.timeoutSec = positive(value, name, 7ULL * 24 * 3600);
        }
        else
        {
            fail(name, "unknown key (known: memory_max, tasks_max, cpu_quota, timeout_sec)");
        }
    }
}

} // namespace

Config parseConfig(std::string_view text)
{
    Json doc;
    try
    {
        doc = Json::parse(text);
    }
    catch (const Json::exception& e) // parse_error, and out_of_range for a number past a double (1e400)
    {
        throw ConfigError(std::string("configuration is not valid JSON: ") + e.what());
    }
    if (!doc.is_object())
    {
        throw ConfigError("configuration must be a JSON object");
    }

    Config config;
    const std::map<std::string, std::function<void(const Json&, const std::string&)>> handlers = {
        {"overlays_root", [&](const Json& v, const std::string& k) { config.overlaysRoot = absolutePath(v, k); }},
        {"runtime_root", [&](const Json& v, const std::string& k) { config.runtimeRoot = absolutePath(v, k); }},
        {"addons_root", [&](const Json& v, const std::string& k) { config.addonsRoot = absolutePath(v, k); }},
        {"layer_roots", [&](const Json& v, const std::string& k) { config.layerRoots = pathList(v, k); }},
        {"caps_allowlist", [&](const Json& v, const std::string& k) { config.capsAllowlist = capabilityList(v, k); }},
        {"server_templates", [&](const Json& v, const std::string& k) { config.serverTemplates = templateList(v, k); }},
        {"owner_user", [&](const Json& v, const std::string& k) { config.ownerUser = userName(v, k); }},
        {"unit_users",
         [&](const Json& v, const std::string& k) {
             if (!v.is_array() || v.empty())
             {
                 fail(k, "must be a non-empty array of user names");
             }
             config.unitUsers.clear();
             for (const auto& item : v)
             {
                 auto name = userName(item, k);
                 if (name == "root")
                 {
                     fail(k, "may not name root: an add-on's units never run as root");
                 }
                 config.unitUsers.push_back(name);
             }
         }},
        {"sandbox_user",
         [&](const Json& v, const std::string& k) {
             // Obsolete: every build now runs as a dynamic user of its own.
             // The one value older releases accepted is still read (and
             // changes nothing), so that their configurations keep working.
             if (userName(v, k) != "left4me-sandbox")
             {
                 fail(k, "is obsolete and only \"left4me-sandbox\" is accepted: every build runs as a dynamic "
                         "user of its own (DynamicUser= in left4me-build@.service); remove the key");
             }
         }},
        {"limits", [&](const Json& v, const std::string&) { applyLimits(config.limits, v); }},
        {"idle_timeout_sec",
         [&](const Json& v, const std::string& k) {
             config.idleTimeoutSec = static_cast<uint32_t>(positive(v, k, 86400));
         }},
        {"polkit_timeout_sec",
         [&](const Json& v, const std::string& k) {
             config.polkitTimeoutSec = static_cast<uint32_t>(positive(v, k, 600));
         }},
        {"polkit_interactive_timeout_sec",
         [&](const Json& v, const std::string& k) {
             config.polkitInteractiveTimeoutSec = static_cast<uint32_t>(positive(v, k, 3600));
         }},
        {"allow_unenforced_limits",
         [&](const Json& v, const std::string& k) {
             if (!v.is_boolean())
             {
                 fail(k, "must be true or false");
             }
             config.allowUnenforcedLimits = v.get<bool>();
         }},
        {"max_running_builds",
         [&](const Json& v, const std::string& k) {
             config.maxRunningBuilds = static_cast<uint32_t>(positive(v, k, 4096));
         }},
        {"job_retention_sec",
         [&](const Json& v, const std::string& k) { config.jobRetentionSec = positive(v, k, 366ULL * 86400); }},
        {"job_retention_count",
         [&](const Json& v, const std::string& k) {
             config.jobRetentionCount = static_cast<uint32_t>(positive(v, k, 100000));
         }},
        {"max_log_bytes",
         [&](const Json& v, const std::string& k) {
             config.maxLogBytes = positive(v, k, uint64_t{1} << 40U);
             if (config.maxLogBytes < minLogBytes)
             {
                 fail(k, "must be at least 1 MiB (1048576)");
             }
         }},
        {"timeout_warning_percent",
         [&](const Json& v, const std::string& k) {
             constexpr uint64_t most = 99;
             if (!v.is_number_unsigned() || v.get<uint64_t>() > most)
             {
                 fail(k, "must be a whole number from 0 (never warn) to 99");
             }
             config.timeoutWarningPercent = static_cast<uint32_t>(v.get<uint64_t>());
         }},
        {"max_running_builds_per_user",
         [&](const Json& v, const std::string& k) {
             config.maxRunningBuildsPerUser = static_cast<uint32_t>(positive(v, k, 4096));
         }},
    };
    for (const auto& [key, value] : doc.items())
    {
        auto handler = handlers.find(key);
        if (handler == handlers.end())
        {
            std::string known;
            for (const auto& [name, unused] : handlers)
            {
                known += (known.empty() ? "" : ", ") + name;
            }
            fail(key, "unknown key (known: " + known + ")");
        }
        handler->second(value, key);
    }
    return config;
}

Config loadConfig(const std::filesystem::path& path)
{
    std::ifstream in(path);
    if (!in)
    {
        if (errno == ENOENT)
        {
            return Config{};
        }
        throw ConfigError("cannot read " + path.string() + ": " + std::strerror(errno));
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    try
    {
        return parseConfig(buffer.str());
    }
    catch (const ConfigError& e)
    {
        throw ConfigError(path.string() + ": " + e.what());
    }
}

} // namespace left4me
