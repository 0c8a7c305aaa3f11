#include "bus/option_values.hpp"

#include "validate/require.hpp"

namespace left4me {

std::map<std::string, std::string> optionSignatures(const std::map<std::string, sdbus::Variant>& options)
{
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : options)
    {
        out[key] = value.peekValueType();
    }
    return out;
}

PlainOptions plainOptions(const std::map<std::string, sdbus::Variant>& options)
{
    PlainOptions out;
    for (const auto& [key, value] : options)
    {
        auto type = value.peekValueType();
        if (type == "b")
        {
            out[key] = value.get<bool>();
        }
        else if (type == "u")
        {
            out[key] = value.get<uint32_t>();
        }
        else if (type == "t")
        {
            out[key] = value.get<uint64_t>();
        }
        else if (type == "s")
        {
            out[key] = value.get<std::string>();
        }
        else if (type == "as")
        {
            out[key] = value.get<std::vector<std::string>>();
        }
    }
    return out;
}

PlainOptions decodeOptions(const std::map<std::string, sdbus::Variant>& options, const OptionTable& table)
{
    require("options", validate::options(optionSignatures(options), table));
    return plainOptions(options);
}

} // namespace left4me
