#include "mounts/mount_request.hpp"

#include "validate/require.hpp"

namespace left4me {

const OptionTable& mountOptionTable()
{
    static const OptionTable table = {{"read_only", "b"}, {"persistent", "b"}};
    return table;
}

MountRequest mountRequest(uid_t caller, std::string instance, std::vector<std::string> layers,
                          const PlainOptions& options)
{
    require("instance", validate::instanceName(instance));
    require("layers", validate::layers(layers));
    return {caller, std::move(instance), std::move(layers), optionOr(options, "read_only", false),
            optionOr(options, "persistent", false)};
}

UnmountRequest unmountRequest(uid_t caller, std::string instance)
{
    require("instance", validate::instanceName(instance));
    return {caller, std::move(instance)};
}

} // namespace left4me
