#include "util/users.hpp"

#include <grp.h>
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

std::optional<std::string> groupName(gid_t gid)
{
    struct group gr
    {
    };
    struct group* found = nullptr;
    std::string buffer(16384, '\0');
    if (getgrgid_r(gid, &gr, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    {
        return std::nullopt;
    }
    return std::string(gr.gr_name);
}

} // namespace left4me
