#include "util/mount_namespace.hpp"

#include "util/unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <system_error>

namespace left4me {

namespace {

[[noreturn]] void fail(const char* what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

void inHostMountNamespace(const std::function<void()>& fn)
{
    // setns(CLONE_NEWNS) refuses a thread that shares its fs struct with
    // others. Threads started after an earlier unshare (GLib's workers)
    // share ours again, so unshare every time; it is cheap when nobody
    // shares.
    if (::unshare(CLONE_FS) != 0)
    {
        fail("unshare(CLONE_FS)");
    }
    UniqueFd own(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
    UniqueFd host(::open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC));
    if (!own || !host)
    {
        fail("open mount namespace");
    }
    if (::setns(host.get(), CLONE_NEWNS) != 0)
    {
        fail("setns(PID 1 mount namespace)");
    }
    struct Return
    {
        int fd;
        ~Return()
        {
            // Cannot fail for a namespace we were just in; if it did, staying
            // in PID 1's namespace is still correct for all our work.
            (void)::setns(fd, CLONE_NEWNS);
        }
    } back{own.get()};
    fn();
}

} // namespace left4me
