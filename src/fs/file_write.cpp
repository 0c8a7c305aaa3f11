#include "fs/file_write.hpp"

#include "fs/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

namespace left4me {

void writeNewFile(const std::string& path, std::string_view content, mode_t mode)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd)
    {
        throw std::system_error(errno, std::generic_category(), "cannot create " + path);
    }
    while (!content.empty())
    {
        auto n = ::write(fd.get(), content.data(), content.size());
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            throw std::system_error(errno, std::generic_category(), "cannot write " + path);
        }
        content.remove_prefix(static_cast<std::size_t>(n));
    }
    // The mode must not depend on the daemon's umask.
    (void)::fchmod(fd.get(), mode);
}

void replaceFile(const std::string& path, std::string_view content, mode_t mode)
{
    auto tmp = path + ".tmp";
    (void)::unlink(tmp.c_str()); // left by a crash between write and rename
    writeNewFile(tmp, content, mode);
    if (::rename(tmp.c_str(), path.c_str()) != 0)
    {
        auto error = errno;
        (void)::unlink(tmp.c_str());
        throw std::system_error(error, std::generic_category(), "cannot replace " + path);
    }
}

std::vector<std::pair<std::filesystem::path, std::string>> readJsonFiles(const std::string& dir)
{
    std::vector<std::pair<std::filesystem::path, std::string>> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    {
        if (entry.path().extension() != ".json")
        {
            continue;
        }
        std::ifstream in(entry.path());
        std::stringstream text;
        text << in.rdbuf();
        files.emplace_back(entry.path(), text.str());
    }
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace left4me
