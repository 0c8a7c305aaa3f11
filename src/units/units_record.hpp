#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace left4me {

// An add-on's installed units, as published (org.left4me.Builder.AddonUnits)
// and kept in <statedir>/addon-units/<addon>.json.
struct AddonUnitsRecord
{
    std::string addon;
    std::string version;
    std::vector<std::string> units;
    std::vector<std::string> enabled;

    bool operator==(const AddonUnitsRecord&) const = default;
};

// What an InstallUnits or RemoveUnits writes down before it changes any
// unit, and removes once it is done: everything needed to put the add-on's
// previous units back, byte for byte and enabled and running as they were.
// A daemon killed in between leaves it, and the next one does exactly that
// (see UnitsService::recover), so an add-on's units are always those of one
// call or the other.
struct UnitsIntent
{
    std::string addon;
    std::optional<AddonUnitsRecord> before;         // none: nothing was installed
    std::map<std::string, std::string> beforeFiles; // unit -> its file's bytes
    std::vector<std::string> beforeActive;          // those of its units that ran
    // The units the call was installing (empty for RemoveUnits).
    std::vector<std::string> afterUnits;

    bool operator==(const UnitsIntent&) const = default;
};

std::string toJson(const AddonUnitsRecord& record);
std::string toJson(const UnitsIntent& intent);
// nullopt for anything this version did not write, or that names a unit or
// add-on an InstallUnits call would refuse.
std::optional<AddonUnitsRecord> addonUnitsRecordFromJson(std::string_view text);
std::optional<UnitsIntent> unitsIntentFromJson(std::string_view text);

} // namespace left4me
