#pragma once

#include <sdbus-c++/Error.h>
#include <sdbus-c++/Types.h>

#include <map>
#include <string>

namespace left4me {

// KEY's value in a property map (GetAll, PropertiesChanged), or FALLBACK if
// it is missing or of another type: a peer's newer or odd answer must not
// throw out of a reply handler.
template <typename T> T variantOr(const std::map<std::string, sdbus::Variant>& map, const std::string& key, T fallback)
{
    auto it = map.find(key);
    if (it == map.end())
    {
        return fallback;
    }
    try
    {
        return it->second.get<T>();
    }
    catch (const sdbus::Error&)
    {
        return fallback;
    }
}

} // namespace left4me
