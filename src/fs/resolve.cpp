#include "fs/resolve.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace left4me {

UniqueFd openRoot(const std::string& root)
{
    return UniqueFd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

UniqueFd openBeneath(int rootFd, const std::string& relative, int flags)
{
    open_how how{};
    how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
    long fd = 0;
    do
    {
        // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
        fd = ::syscall(SYS_openat2, rootFd, relative.c_str(), &how, sizeof(how));
    } while (fd < 0 && errno == EAGAIN);
    if (fd < 0 && errno == ENOSYS)
    {
        throw KernelUnsupported("openat2");
    }
    return UniqueFd(static_cast<int>(fd));
}

} // namespace left4me
