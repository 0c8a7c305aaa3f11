// units install|remove|list: an add-on's own systemd units.
#include "cli/commands.hpp"
#include "cli/exit_status.hpp"
#include "cli/i18n.hpp"
#include "cli/output.hpp"
#include "cli/session.hpp"
#include "util/join.hpp"
#include "util/variant_map.hpp"

#include <algorithm>

namespace left4me::cli {

namespace {

constexpr const char* addonUnitsInterface = org::left4me::Builder::AddonUnits_proxy::INTERFACE_NAME;

int install(Session& session, const CommandLine& line)
{
    if (line.args.size() < 4)
    {
        throw UsageError(_("units install needs ADDON VERSION UNIT..."));
    }
    std::vector<std::string> units(line.args.begin() + 3, line.args.end());
    std::map<std::string, sdbus::Variant> options;
    if (auto enable = line.values("enable"); !enable.empty())
    {
        options["enable"] = enable;
    }
    if (line.has("now"))
    {
        options["now"] = true;
    }
    session.manager().InstallUnits(line.args[1], line.args[2], units, options);
    if (line.has("json"))
    {
        printJsonLine({{"addon", line.args[1]},
                       {"version", line.args[2]},
                       {"units", units},
                       {"enabled", line.values("enable")},
                       {"started", line.has("now")}});
    }
    return exit_code::success;
}

int remove(Session& session, const CommandLine& line)
{
    if (line.args.size() != 2)
    {
        throw UsageError(_("units remove needs ADDON"));
    }
    session.manager().RemoveUnits(line.args[1]);
    return exit_code::success;
}

int list(Session& session, const CommandLine& line)
{
    if (line.args.size() != 1)
    {
        throw UsageError(_("units list takes no arguments"));
    }
    auto addons = session.objectsWith(addonUnitsInterface);
    std::sort(addons.begin(), addons.end(), [](const auto& a, const auto& b) {
        return variantOr(a.second, "Addon", std::string()) < variantOr(b.second, "Addon", std::string());
    });
    if (line.has("json"))
    {
        printObjectsJson(addons);
        return exit_code::success;
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(addons.size());
    for (const auto& [path, p] : addons)
    {
        rows.push_back({variantOr(p, "Addon", std::string()), variantOr(p, "Version", std::string()),
                        join(variantOr(p, "Units", std::vector<std::string>{}), " "),
                        join(variantOr(p, "Enabled", std::vector<std::string>{}), " ")});
    }
    printTable({_("ADDON"), _("VERSION"), _("UNITS"), _("ENABLED")}, rows, !line.has("no-legend"));
    return exit_code::success;
}

} // namespace

int runUnits(Session& session, const CommandLine& line)
{
    const auto& verb = line.args[0];
    bool installing = verb == "install";
    if (!installing && (line.has("enable") || line.has("now")))
    {
        throw UsageError(_("--enable and --now belong to units install"));
    }
    if (installing)
    {
        return install(session, line);
    }
    if (verb == "remove")
    {
        return remove(session, line);
    }
    if (verb == "list")
    {
        return list(session, line);
    }
    throw UsageError(format(N_("unknown units command %s (install, remove or list)"), verb));
}

} // namespace left4me::cli
