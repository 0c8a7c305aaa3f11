#include "util/json_record.hpp"

namespace left4me {

RecordReader::RecordReader(std::string_view text)
{
    try
    {
        doc_ = nlohmann::json::parse(text);
    }
    catch (const nlohmann::json::exception& e)
    {
        throw RecordError(e.what());
    }
    if (!doc_.is_object())
    {
        throw RecordError("not a JSON object");
    }
}

const nlohmann::json& RecordReader::at(const char* key) const
{
    if (!doc_.contains(key))
    {
        throw RecordError(std::string("\"") + key + "\" is missing");
    }
    return doc_.at(key);
}

std::string RecordReader::string(const char* key) const
{
    const auto& value = at(key);
    if (!value.is_string())
    {
        throw RecordError(std::string("\"") + key + "\" is not a string");
    }
    return value.get<std::string>();
}

bool RecordReader::boolean(const char* key) const
{
    const auto& value = at(key);
    if (!value.is_boolean())
    {
        throw RecordError(std::string("\"") + key + "\" is not true or false");
    }
    return value.get<bool>();
}

double RecordReader::number(const char* key) const
{
    const auto& value = at(key);
    if (!value.is_number())
    {
        throw RecordError(std::string("\"") + key + "\" is not a number");
    }
    return value.get<double>();
}

std::vector<std::string> RecordReader::strings(const char* key) const
{
    const auto& value = at(key);
    if (!value.is_array())
    {
        throw RecordError(std::string("\"") + key + "\" is not a list");
    }
    std::vector<std::string> out;
    for (const auto& item : value)
    {
        if (!item.is_string())
        {
            throw RecordError(std::string("\"") + key + "\" holds a value that is not a string");
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

std::string recordText(const nlohmann::json& doc)
{
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string toHex(std::string_view bytes)
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

std::optional<std::string> fromHex(std::string_view hex)
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

} // namespace left4me
