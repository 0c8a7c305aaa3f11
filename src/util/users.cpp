#include "util/users.hpp"

#include <pwd.h>

namespace left4me {

std::optional<UserIds> lookupUser(const std::string& user)
{
    struct passwd pw
    {
    };
    struct passwd* found = nullptr;
    std::string buffer(16384, '\0');
    if (getpwnam_r(user.c_str(), &pw, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    {
        return std::nullopt;
    }
    return UserIds{pw.pw_uid, pw.pw_gid};
}

} // namespace left4me
