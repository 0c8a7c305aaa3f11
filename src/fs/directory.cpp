#include "fs/directory.hpp"

#include "fs/unique_fd.hpp"

#include <dirent.h>
#include <fcntl.h>

#include <memory>

namespace left4me {

std::vector<std::string> directoryEntries(int dirFd)
{
    std::vector<std::string> names;
    // A fresh fd of its own: the stream owns and closes it, and reads from
    // the start whatever DIR_FD's position.
    UniqueFd readable(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!readable)
    {
        return names;
    }
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(readable.get()), &::closedir);
    if (!dir)
    {
        return names; // READABLE still owns the fd and closes it
    }
    (void)readable.release(); // the stream has it now
    while (const dirent* entry = ::readdir(dir.get()))
    {
        std::string name = entry->d_name;
        if (name != "." && name != "..")
        {
            names.push_back(std::move(name));
        }
    }
    return names;
}

} // namespace left4me
