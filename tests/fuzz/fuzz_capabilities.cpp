// ApplyCaps' capability list (as) against an allowlist: whatever the names,
// the check fails closed, and what it grants is known to libcap, allowed,
// and says what the journal line says.
#include "caps/capability_list.hpp"
#include "fuzz_check.hpp"
#include "util/config.hpp"
#include "validate/arguments.hpp"

#include <algorithm>
#include <fuzzer/FuzzedDataProvider.h>
#include <memory>

using namespace left4me;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size)
{
    FuzzedDataProvider data(bytes, size);
    std::vector<std::string> allowlist = Config{}.capsAllowlist;
    if (data.ConsumeBool())
    {
        // A configured allowlist: normalized names, as parseConfig keeps them.
        allowlist.clear();
        for (auto n = data.ConsumeIntegralInRange(0, 8); n > 0; --n)
        {
            if (auto name = validate::normalizeCapabilityName(data.ConsumeRandomLengthString(24)))
            {
                allowlist.push_back(*name);
            }
        }
    }
    std::vector<std::string> requested;
    while (data.remaining_bytes() > 0 && requested.size() < 64)
    {
        requested.push_back(data.ConsumeRandomLengthString(48));
    }

    auto check = checkCapabilities(requested, allowlist);
    FUZZ_CHECK(!(check.unknown && check.notAllowed));
    if (check.unknown || check.notAllowed)
    {
        return 0;
    }
    FUZZ_CHECK(check.values.size() == check.names.size());
    FUZZ_CHECK(check.values.size() <= requested.size());
    for (std::size_t i = 0; i < check.values.size(); ++i)
    {
        FUZZ_CHECK(std::find(allowlist.begin(), allowlist.end(), check.names[i]) != allowlist.end());
        cap_value_t value = -1;
        FUZZ_CHECK(cap_from_name(check.names[i].c_str(), &value) == 0 && value == check.values[i]);
        FUZZ_CHECK(std::count(check.values.begin(), check.values.end(), check.values[i]) == 1);
    }
    // The journal's LEFT4ME_CAPS_NEW: what getcap would print, and what
    // libcap reads back as exactly these capabilities.
    auto text = capabilityText(check.names);
    if (check.names.empty())
    {
        FUZZ_CHECK(text.empty());
        return 0;
    }
    std::unique_ptr<std::remove_pointer_t<cap_t>, decltype(&cap_free)> caps(cap_from_text(text.c_str()), cap_free);
    FUZZ_CHECK(caps != nullptr);
    for (auto value : check.values)
    {
        cap_flag_value_t set = CAP_CLEAR;
        FUZZ_CHECK(cap_get_flag(caps.get(), value, CAP_EFFECTIVE, &set) == 0 && set == CAP_SET);
        FUZZ_CHECK(cap_get_flag(caps.get(), value, CAP_PERMITTED, &set) == 0 && set == CAP_SET);
        FUZZ_CHECK(cap_get_flag(caps.get(), value, CAP_INHERITABLE, &set) == 0 && set == CAP_CLEAR);
    }
    return 0;
}
