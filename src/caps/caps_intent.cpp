#include "caps/caps_intent.hpp"

#include "util/json_record.hpp"
#include "validate/arguments.hpp"

namespace left4me {

std::string capsTmpPrefix(const std::string& binary)
{
    auto slash = binary.rfind('/');
    return "." + (slash == std::string::npos ? binary : binary.substr(slash + 1)) + ".left4me-caps.";
}

std::string toJson(const CapsIntent& intent)
{
    nlohmann::json doc = {{"addon", intent.addon},      {"version", intent.version},   {"binary", intent.binary},
                          {"device", intent.device},    {"inode", intent.inode},       {"old_xattr", nullptr},
                          {"old_current_hex", nullptr}, {"activate", intent.activate}, {"tmp_name", intent.tmpName}};
    if (intent.oldXattr)
    {
        doc["old_xattr"] = toHex(*intent.oldXattr);
    }
    if (intent.oldCurrent)
    {
        doc["old_current_hex"] = toHex(*intent.oldCurrent);
    }
    return recordText(doc);
}

std::optional<CapsIntent> capsIntentFromJson(std::string_view text)
{
    return readRecord(text, [](const RecordReader& r) {
        auto hex = [&](const char* key) -> std::optional<std::string> {
            if (!r.has(key))
            {
                return std::nullopt;
            }
            auto bytes = fromHex(r.string(key));
            if (!bytes)
            {
                throw RecordError(std::string("\"") + key + "\" is not hex");
            }
            return bytes;
        };
        CapsIntent intent;
        intent.addon = r.string("addon");
        intent.version = r.string("version");
        intent.binary = r.string("binary");
        intent.device = r.integer<uint64_t>("device");
        intent.inode = r.integer<uint64_t>("inode");
        intent.oldXattr = hex("old_xattr");
        intent.oldCurrent = hex("old_current_hex");
        // Intents of older releases: always an activation, made in place.
        intent.activate = r.has("activate") ? r.boolean("activate") : true;
        intent.tmpName = r.has("tmp_name") ? r.string("tmp_name") : std::string();
        // The names are paths recover() opens as root: they must pass the
        // same rules as the call that wrote them.
        if (validate::addonSegment(intent.addon) || validate::addonSegment(intent.version) ||
            validate::relativeBinaryPath(intent.binary) ||
            (!intent.tmpName.empty() && (intent.tmpName.find('/') != std::string::npos ||
                                         intent.tmpName.rfind(capsTmpPrefix(intent.binary), 0) != 0)))
        {
            throw RecordError("names a path ApplyCaps would refuse");
        }
        return intent;
    });
}

} // namespace left4me
