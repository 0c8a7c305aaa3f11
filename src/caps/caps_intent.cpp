#include "caps/caps_intent.hpp"

#include "validate/arguments.hpp"

#include <nlohmann/json.hpp>

namespace left4me {

namespace {

// The xattr is binary, and a symlink's target any bytes but NUL; JSON
// strings are UTF-8 (nlohmann throws on anything else), so both are stored
// as hex.
std::string toHex(const std::string& bytes)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (unsigned char byte : bytes)
    {
        hex += digits[byte >> 4U];
        hex += digits[byte & 0xfU];
    }
    return hex;
}

std::optional<std::string> fromHex(const std::string& hex)
{
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9')
        {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f')
        {
            return c - 'a' + 10;
        }
        return -1;
    };
    if (hex.size() % 2 != 0)
    {
        return std::nullopt;
    }
    std::string bytes;
    bytes.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2)
    {
        int high = nibble(hex[i]);
        int low = nibble(hex[i + 1]);
        if (high < 0 || low < 0)
        {
            return std::nullopt;
        }
        bytes += static_cast<char>((high << 4) | low);
    }
    return bytes;
}

} // namespace

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
    return doc.dump(2) + "\n";
}

std::optional<CapsIntent> capsIntentFromJson(std::string_view text)
{
    try
    {
        auto doc = nlohmann::json::parse(text);
        CapsIntent intent;
        intent.addon = doc.at("addon").get<std::string>();
        intent.version = doc.at("version").get<std::string>();
        intent.binary = doc.at("binary").get<std::string>();
        const auto& device = doc.at("device");
        const auto& inode = doc.at("inode");
        if (!device.is_number_unsigned() || !inode.is_number_unsigned())
        {
            return std::nullopt;
        }
        intent.device = device.get<uint64_t>();
        intent.inode = inode.get<uint64_t>();
        if (const auto& xattr = doc.at("old_xattr"); !xattr.is_null())
        {
            intent.oldXattr = fromHex(xattr.get<std::string>());
            if (!intent.oldXattr)
            {
                return std::nullopt;
            }
        }
        if (const auto& current = doc.at("old_current_hex"); !current.is_null())
        {
            intent.oldCurrent = fromHex(current.get<std::string>());
            if (!intent.oldCurrent)
            {
                return std::nullopt;
            }
        }
        if (doc.contains("activate"))
        {
            intent.activate = doc.at("activate").get<bool>();
        }
        if (doc.contains("tmp_name"))
        {
            intent.tmpName = doc.at("tmp_name").get<std::string>();
        }
        // The names are paths recover() opens as root: they must pass the
        // same rules as the call that wrote them.
        if (validate::addonSegment(intent.addon) || validate::addonSegment(intent.version) ||
            validate::relativeBinaryPath(intent.binary) ||
            (!intent.tmpName.empty() && (intent.tmpName.find('/') != std::string::npos ||
                                         intent.tmpName.rfind(capsTmpPrefix(intent.binary), 0) != 0)))
        {
            return std::nullopt;
        }
        return intent;
    }
    catch (const nlohmann::json::exception&)
    {
        return std::nullopt;
    }
}

} // namespace left4me
