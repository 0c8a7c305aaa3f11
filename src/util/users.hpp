#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace left4me {

struct UserIds
{
    uid_t uid;
    gid_t gid;
};

// The uid and primary gid of USER from the user database; nullopt if the
// user does not exist (run systemd-sysusers).
std::optional<UserIds> lookupUser(const std::string& user);

// The name of group GID; nullopt if it has none.
std::optional<std::string> groupName(gid_t gid);

} // namespace left4me
