#include "systemd/unit_text.hpp"

namespace left4me::unit {

namespace {

void refuseUnwritable(std::string_view value)
{
    for (char c : value)
    {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
        {
            throw UnwritableValue("it contains a control character, which a unit file cannot hold");
        }
    }
}

std::string doublePercents(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value)
    {
        if (c == '%')
        {
            out += '%';
        }
        out += c;
    }
    return out;
}

} // namespace

std::string settingValue(std::string_view value)
{
    refuseUnwritable(value);
    if (!value.empty() && (value.front() == ' ' || value.back() == ' '))
    {
        throw UnwritableValue("it starts or ends with a blank, which systemd strips from a setting");
    }
    return doublePercents(value);
}

std::string listWord(std::string_view value)
{
    refuseUnwritable(value);
    std::string out = "\"";
    for (char c : doublePercents(value))
    {
        if (c == '\\' || c == '"')
        {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

} // namespace left4me::unit
