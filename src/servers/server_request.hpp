#pragma once

#include "ops/options.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace left4me {

// One EnableServer or DisableServer, checked: what ServerService takes.
struct ServerRequest
{
    uid_t caller = 0;
    std::string templateName; // one of server_templates, e.g. "left4me-server@.service"
    std::string instance;     // a daemon instance name: never needs systemd's escapes
    std::string unit;         // the instance's unit, e.g. "left4me-server@1.service"
    bool now = false;         // also start (enable) or stop (disable) it
};

// EnableServer's and DisableServer's options and the D-Bus type of each.
const OptionTable& serverOptionTable();

// The request from the method's arguments, each checked: TEMPLATE_NAME
// must be one of TEMPLATES (server_templates; empty means its first) and
// INSTANCE a daemon instance name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}).
// Throws OpError(InvalidArgument) naming the argument and the rule.
ServerRequest serverRequest(uid_t caller, std::string templateName, std::string instance, const PlainOptions& options,
                            const std::vector<std::string>& templates);

} // namespace left4me
