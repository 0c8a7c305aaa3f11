#include "units/units_request.hpp"

#include "util/printable.hpp"
#include "validate/require.hpp"

#include <algorithm>
#include <set>

namespace left4me {

const OptionTable& unitsOptionTable()
{
    static const OptionTable table = {{"enable", "as"}, {"now", "b"}};
    return table;
}

InstallUnitsRequest installUnitsRequest(uid_t caller, std::string addon, std::string version,
                                        std::vector<std::string> units, const PlainOptions& options)
{
    require("addon", validate::addonSegment(addon));
    require("version", validate::addonSegment(version));
    if (units.empty())
    {
        require("units", std::string("is empty; name the unit files to install (RemoveUnits removes them all)"));
    }
    if (units.size() > validate::maxAddonUnits)
    {
        require("units", "names " + std::to_string(units.size()) + " units; the limit is " +
                             std::to_string(validate::maxAddonUnits));
    }
    std::set<std::string> seen;
    for (const auto& unit : units)
    {
        require("units", validate::addonUnitName(addon, unit));
        if (!seen.insert(unit).second)
        {
            require("units", quoteArgument(unit) + " is named twice");
        }
    }
    auto enable = optionOr(options, "enable", std::vector<std::string>{});
    for (const auto& unit : enable)
    {
        if (seen.count(unit) == 0)
        {
            require("options", "enable names " + quoteArgument(unit) + ", which is not one of the units installed");
        }
    }
    std::sort(enable.begin(), enable.end());
    enable.erase(std::unique(enable.begin(), enable.end()), enable.end());
    bool now = optionOr(options, "now", false);
    if (now && enable.empty())
    {
        require("options", std::string("now starts the units named by enable, and enable names none"));
    }
    return {caller, std::move(addon), std::move(version), std::move(units), std::move(enable), now};
}

RemoveUnitsRequest removeUnitsRequest(uid_t caller, std::string addon)
{
    require("addon", validate::addonSegment(addon));
    return {caller, std::move(addon)};
}

} // namespace left4me
