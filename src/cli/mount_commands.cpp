// mount, unmount, mounts and caps: the commands about game-server instances
// and add-ons.
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "util/join.hpp"
#include "util/variant_map.hpp"

#include <algorithm>
#include <cstdio>

namespace left4me::cli {

namespace {

constexpr const char* mountInterface = org::left4me::Builder::Mount_proxy::INTERFACE_NAME;

} // namespace

int runMount(Session& session, const CommandLine& line)
{
    std::vector<std::string> layers(line.args.begin() + 1, line.args.end());
    std::map<std::string, sdbus::Variant> options;
    if (line.has("read-only"))
    {
        options["read_only"] = true;
    }
    if (line.has("persistent"))
    {
        options["persistent"] = true;
    }
    std::string where = session.manager().Mount(line.args[0], layers, options);
    if (line.has("json"))
    {
        printJsonLine({{"instance", line.args[0]}, {"where", where}});
    }
    else if (!line.has("quiet"))
    {
        std::printf("%s\n", where.c_str());
    }
    return exit_code::success;
}

int runUnmount(Session& session, const CommandLine& line)
{
    session.manager().Unmount(line.args[0]);
    return exit_code::success;
}

int runMounts(Session& session, const CommandLine& line)
{
    auto mounts = session.objectsWith(mountInterface);
    std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) {
        return variantOr(a.second, "Instance", std::string()) < variantOr(b.second, "Instance", std::string());
    });
    if (line.has("json"))
    {
        printObjectsJson(mounts);
        return exit_code::success;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(mounts.size());
    for (const auto& [path, p] : mounts)
    {
        rows.push_back({variantOr(p, "Instance", std::string()), variantOr(p, "Where", std::string()),
                        variantOr(p, "ReadOnly", false) ? "ro" : "rw",
                        variantOr(p, "Persistent", false) ? _("yes") : _("no"),
                        join(variantOr(p, "Layers", std::vector<std::string>{}), ":")});
    }
    printTable({_("INSTANCE"), _("WHERE"), _("MODE"), _("PERSISTENT"), _("LAYERS")}, rows, !line.has("no-legend"));
    return exit_code::success;
}

int runCaps(Session& session, const CommandLine& line)
{
    std::vector<std::string> capabilities(line.args.begin() + 3, line.args.end());
    std::map<std::string, sdbus::Variant> options;
    if (line.has("activate"))
    {
        options["activate"] = true;
    }
    session.manager().ApplyCaps(line.args[0], line.args[1], line.args[2], capabilities, options);
    if (line.has("json"))
    {
        printJsonLine({{"addon", line.args[0]},
                       {"version", line.args[1]},
                       {"binary", line.args[2]},
                       {"capabilities", capabilities},
                       {"activated", line.has("activate")}});
    }
    return exit_code::success;
}

} // namespace left4me::cli
