#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

// A method's a{sv} options in plain types. Each operation's request header
// has its table (the keys and the D-Bus type of each, as the XML's
// org.left4me.Builder.Options annotation states them; a unit test holds
// the two together) and reads its options from these values; bus/ alone
// converts them from the call.
namespace left4me {

using OptionValue = std::variant<bool, uint32_t, uint64_t, std::string, std::vector<std::string>>;
using PlainOptions = std::map<std::string, OptionValue>;
// key -> D-Bus signature of its value
using OptionTable = std::map<std::string, std::string>;

template <typename T> T optionOr(const PlainOptions& options, const std::string& key, T fallback)
{
    auto it = options.find(key);
    return it == options.end() ? fallback : std::get<T>(it->second);
}

} // namespace left4me
