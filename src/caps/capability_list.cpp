#include "caps/capability_list.hpp"

#include "util/join.hpp"
#include "validate/arguments.hpp"

#include <algorithm>

namespace left4me {

CapabilityCheck checkCapabilities(const std::vector<std::string>& requested, const std::vector<std::string>& allowlist)
{
    CapabilityCheck check;
    for (const auto& raw : requested)
    {
        auto name = validate::normalizeCapabilityName(raw);
        cap_value_t value = 0;
        if (!name || cap_from_name(name->c_str(), &value) != 0)
        {
            check.unknown = raw;
            return check;
        }
        if (std::find(allowlist.begin(), allowlist.end(), *name) == allowlist.end())
        {
            check.notAllowed = *name;
            return check;
        }
        if (std::find(check.values.begin(), check.values.end(), value) == check.values.end())
        {
            check.values.push_back(value);
            check.names.push_back(*name);
        }
    }
    return check;
}

std::string capabilityText(const std::vector<std::string>& names)
{
    return names.empty() ? std::string() : join(names, ",") + "=ep";
}

} // namespace left4me
