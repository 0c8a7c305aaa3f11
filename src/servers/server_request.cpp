#include "servers/server_request.hpp"

#include "util/join.hpp"
#include "util/printable.hpp"
#include "validate/require.hpp"

#include <algorithm>

namespace left4me {

const OptionTable& serverOptionTable()
{
    static const OptionTable table = {{"now", "b"}};
    return table;
}

ServerRequest serverRequest(uid_t caller, std::string templateName, std::string instance, const PlainOptions& options,
                            const std::vector<std::string>& templates)
{
    if (templates.empty())
    {
        require("template", std::string("no server templates are configured (server_templates in "
                                        "/etc/left4me/builder.json is empty), so no server can be enabled or "
                                        "disabled through the service"));
    }
    if (templateName.empty())
    {
        templateName = templates.front();
    }
    if (std::find(templates.begin(), templates.end(), templateName) == templates.end())
    {
        require("template", quoteArgument(templateName) + " is not a configured server template (server_templates: " +
                                join(templates, ", ") + ")");
    }
    require("instance", validate::instanceName(instance));
    auto unit =
        templateName.substr(0, templateName.size() - std::string_view(".service").size()) + instance + ".service";
    return {caller, std::move(templateName), std::move(instance), std::move(unit), optionOr(options, "now", false)};
}

} // namespace left4me
