#include "units/units_record.hpp"

#include "util/json_record.hpp"
#include "validate/arguments.hpp"

namespace left4me {

namespace {

nlohmann::json recordDoc(const AddonUnitsRecord& record)
{
    return {{"addon", record.addon}, {"version", record.version}, {"units", record.units}, {"enabled", record.enabled}};
}

// A record names units the daemon writes, enables and removes: they must
// pass the same rules as the call that made them.
void checkNames(const std::string& addon, const std::vector<std::string>& units)
{
    if (validate::addonSegment(addon))
    {
        throw RecordError("names an add-on InstallUnits would refuse");
    }
    for (const auto& unit : units)
    {
        if (validate::addonUnitName(addon, unit))
        {
            throw RecordError("names a unit InstallUnits would refuse");
        }
    }
}

AddonUnitsRecord readRecordFields(const RecordReader& r)
{
    AddonUnitsRecord record{r.string("addon"), r.string("version"), r.strings("units"), r.strings("enabled")};
    checkNames(record.addon, record.units);
    checkNames(record.addon, record.enabled);
    if (validate::addonSegment(record.version))
    {
        throw RecordError("names a version InstallUnits would refuse");
    }
    return record;
}

} // namespace

std::string toJson(const AddonUnitsRecord& record)
{
    return recordText(recordDoc(record));
}

std::string toJson(const UnitsIntent& intent)
{
    nlohmann::json files = nlohmann::json::object();
    for (const auto& [unit, bytes] : intent.beforeFiles)
    {
        files[unit] = toHex(bytes); // bytes, byte for byte; JSON strings are UTF-8
    }
    nlohmann::json doc = {{"addon", intent.addon},
                          {"before", intent.before ? recordDoc(*intent.before) : nlohmann::json()},
                          {"before_files", files},
                          {"before_active", intent.beforeActive},
                          {"after_units", intent.afterUnits}};
    return recordText(doc);
}

std::optional<AddonUnitsRecord> addonUnitsRecordFromJson(std::string_view text)
{
    return readRecord(text, [](const RecordReader& r) { return readRecordFields(r); });
}

std::optional<UnitsIntent> unitsIntentFromJson(std::string_view text)
{
    return readRecord(text, [&](const RecordReader& r) {
        UnitsIntent intent;
        intent.addon = r.string("addon");
        if (r.has("before"))
        {
            auto before = addonUnitsRecordFromJson(nlohmann::json::parse(text).at("before").dump());
            if (!before || before->addon != intent.addon)
            {
                throw RecordError("\"before\" is not a record of this add-on");
            }
            intent.before = before;
        }
        auto doc = nlohmann::json::parse(text);
        if (!r.has("before_files") || !doc.at("before_files").is_object())
        {
            throw RecordError("\"before_files\" is not an object");
        }
        for (const auto& [unit, hex] : doc.at("before_files").items())
        {
            auto bytes = hex.is_string() ? fromHex(hex.get<std::string>()) : std::nullopt;
            if (!bytes)
            {
                throw RecordError("a file of \"before_files\" is not hex");
            }
            intent.beforeFiles[unit] = *bytes;
        }
        intent.beforeActive = r.strings("before_active");
        intent.afterUnits = r.strings("after_units");
        std::vector<std::string> files;
        for (const auto& [unit, bytes] : intent.beforeFiles)
        {
            files.push_back(unit);
        }
        checkNames(intent.addon, files);
        checkNames(intent.addon, intent.beforeActive);
        checkNames(intent.addon, intent.afterUnits);
        return intent;
    });
}

} // namespace left4me
