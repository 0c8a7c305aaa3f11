#pragma once

#include <string>
#include <string_view>

namespace left4me {

// "a, b, c" from {"a", "b", "c"}: for lists in messages and option strings.
template <typename Range> std::string join(const Range& items, std::string_view separator)
{
    std::string out;
    for (const auto& item : items)
    {
        if (!out.empty())
        {
            out += separator;
        }
        out += item;
    }
    return out;
}

} // namespace left4me
