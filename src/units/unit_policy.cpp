#include "units/unit_policy.hpp"

#include "util/join.hpp"

#include <algorithm>

namespace left4me {

namespace {

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The flags systemd gives a command line that runs with more than the
// unit's user: "+" (privileged, also what PermissionsStartOnly= gives
// ExecStartPre= and the like), "!" (no-setuid) and "!!" (ambient).
const std::set<std::string>& elevatingFlags()
{
    static const std::set<std::string> flags = {"privileged", "no-setuid", "ambient"};
    return flags;
}

} // namespace

const std::set<std::string>& passiveTargets();

namespace {

// Whether a unit may have DEPENDENCY (a property of systemd's, e.g.
// Requires) on TARGET: its own units always; to pull in, a slice, a mount
// (RequiresMountsFor=) or a passive target; to conflict, shutdown.target
// alone, which every service does; anything else (stop, trigger, reload or
// start on failure another unit) only its own.
bool mayName(const std::string& dependency, const std::string& target, const UnitPolicy& policy)
{
    if (policy.own.count(target) != 0)
    {
        return true;
    }
    if (dependency == "Conflicts")
    {
        return target == "shutdown.target";
    }
    if (dependency == "Requires" || dependency == "Requisite" || dependency == "Wants" || dependency == "BindsTo")
    {
        return passiveTargets().count(target) != 0 || endsWith(target, ".slice") || endsWith(target, ".mount");
    }
    return false;
}

} // namespace

const std::set<std::string>& passiveTargets()
{
    static const std::set<std::string> targets = {
        "basic.target",       "sysinit.target",        "shutdown.target",   "network.target",
        "network-pre.target", "network-online.target", "nss-lookup.target", "time-sync.target",
        "time-set.target",    "timers.target",         "multi-user.target", "default.target",
        "local-fs.target",    "remote-fs.target",      "paths.target",      "sockets.target"};
    return targets;
}

std::optional<std::string> unitRefusal(const std::string& unit, const UnitFacts& facts, const UnitPolicy& policy)
{
    if (facts.loadState != "loaded")
    {
        return "systemd could not load it (LoadState=" + facts.loadState + "); check it with systemd-analyze verify";
    }
    for (const auto& [dependency, names] : facts.dependencies)
    {
        for (const auto& name : names)
        {
            auto target = policy.finalName(name);
            if (!mayName(dependency, target, policy))
            {
                std::string why = dependency;
                why += "=" + target;
                why += " names a unit that is not the add-on's own; an add-on's units may pull in only each other, "
                       "slices, mounts and the targets every service names (";
                why += join(passiveTargets(), ", ");
                why += "), and stop or trigger only each other";
                return why;
            }
        }
    }
    if (!endsWith(unit, ".service"))
    {
        return std::nullopt;
    }
    if (facts.user.empty() || facts.user == "root" || facts.user == "0")
    {
        return facts.user.empty() ? std::string("it has no User=, so it would run as root")
                                  : "User=" + facts.user + " is root";
    }
    if (policy.users.count(facts.user) == 0)
    {
        return "User=" + facts.user + " is not one of the users add-on units may run as (" +
               join(std::vector<std::string>(policy.users.begin(), policy.users.end()), ", ") + ")";
    }
    if (!facts.group.empty() && policy.groups.count(facts.group) == 0)
    {
        return "Group=" + facts.group + " is not the primary group of an allowed user";
    }
    if (!facts.supplementaryGroups.empty())
    {
        return "SupplementaryGroups=" + join(facts.supplementaryGroups, " ") + " would add groups";
    }
    if (facts.ambientCapabilities != 0)
    {
        return "AmbientCapabilities= would give its user capabilities";
    }
    for (const auto& [property, flags] : facts.commandFlags)
    {
        auto elevated = std::find_if(flags.begin(), flags.end(),
                                     [](const std::string& flag) { return elevatingFlags().count(flag) != 0; });
        if (elevated != flags.end())
        {
            auto setting = property.substr(0, property.size() - 2); // ExecStartEx -> ExecStart
            return setting + "= has a command that runs with privileges (" + *elevated +
                   ": a \"+\", \"!\" or \"!!\" prefix, or PermissionsStartOnly=)";
        }
    }
    return std::nullopt;
}

std::optional<std::string> settingRefusal(const std::string& text)
{
    const std::string key = "PermissionsStartOnly";
    std::size_t start = 0;
    while (start < text.size())
    {
        auto end = text.find('\n', start);
        auto line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        start = end == std::string::npos ? text.size() : end + 1;
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line.compare(first, key.size(), key) != 0)
        {
            continue;
        }
        auto rest = line.find_first_not_of(" \t", first + key.size());
        if (rest != std::string::npos && line[rest] == '=')
        {
            return key + "= would run the commands before and after the main one as root";
        }
    }
    return std::nullopt;
}

std::optional<std::string> installRefusal(const std::vector<UnitFileChange>& changes, const UnitPolicy& policy)
{
    for (const auto& change : changes)
    {
        auto slash = change.path.rfind('/');
        auto name = policy.finalName(change.path.substr(slash + 1));
        auto directory = change.path.substr(0, slash);
        auto dirName = directory.substr(directory.rfind('/') + 1);
        std::string target;
        for (const char* suffix : {".wants", ".requires"})
        {
            if (endsWith(dirName, suffix))
            {
                target = dirName.substr(0, dirName.size() - std::string(suffix).size());
            }
        }
        if (change.type == "symlink" && policy.own.count(name) != 0 && !target.empty() &&
            (passiveTargets().count(target) != 0 || policy.own.count(policy.finalName(target)) != 0))
        {
            continue; // WantedBy= or RequiredBy= one of those
        }
        return "its [Install] section would make " + change.path +
               " (only WantedBy= and RequiredBy= of the add-on's own units or of " +
               join(std::vector<std::string>(passiveTargets().begin(), passiveTargets().end()), ", ") +
               " are allowed; no Alias= or Also=)";
    }
    return std::nullopt;
}

} // namespace left4me
