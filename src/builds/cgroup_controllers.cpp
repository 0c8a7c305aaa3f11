#include "builds/cgroup_controllers.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <fstream>
#include <sstream>

namespace left4me {

std::vector<std::string> missingControllers(std::string_view controllers)
{
    std::vector<std::string> present;
    std::istringstream words{std::string(controllers)};
    for (std::string word; words >> word;)
    {
        present.push_back(word);
    }
    std::vector<std::string> missing;
    for (const char* wanted : requiredControllers)
    {
        bool found = false;
        for (const auto& p : present)
        {
            found = found || p == wanted;
        }
        if (!found)
        {
            missing.emplace_back(wanted);
        }
    }
    return missing;
}

std::vector<std::string> missingHostControllers()
{
    // Pure v2: /sys/fs/cgroup itself; hybrid: its "unified" mount.
    for (const char* root : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    {
        struct statfs fs
        {
        };
        if (::statfs(root, &fs) == 0 && static_cast<unsigned long>(fs.f_type) == CGROUP2_SUPER_MAGIC)
        {
            std::ifstream in(std::string(root) + "/cgroup.controllers");
            std::stringstream content;
            content << in.rdbuf();
            return missingControllers(content.str());
        }
    }
    return missingControllers("");
}

} // namespace left4me
