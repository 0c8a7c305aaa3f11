#include "caps/caps_request.hpp"

#include "util/join.hpp"
#include "util/printable.hpp"
#include "validate/require.hpp"

namespace left4me {

const OptionTable& capsOptionTable()
{
    static const OptionTable table = {{"activate", "b"}};
    return table;
}

ApplyCapsRequest applyCapsRequest(uid_t caller, std::string addon, std::string version, std::string binary,
                                  const std::vector<std::string>& capabilities, const PlainOptions& options,
                                  const Config& config)
{
    require("addon", validate::addonSegment(addon));
    require("version", validate::addonSegment(version));
    require("binary", validate::relativeBinaryPath(binary));
    auto check = checkCapabilities(capabilities, config.capsAllowlist);
    if (check.unknown)
    {
        require("capabilities", quoteArgument(*check.unknown) + " is not a capability this system knows");
    }
    if (check.notAllowed)
    {
        throw OpError(ErrorKind::capabilityNotAllowed,
                      "Capability " + *check.notAllowed + " is not in the allowlist (" +
                          join(config.capsAllowlist, ", ") + "); nothing was changed.");
    }
    return {caller,
            std::move(addon),
            std::move(version),
            std::move(binary),
            std::move(check),
            optionOr(options, "activate", false)};
}

} // namespace left4me
