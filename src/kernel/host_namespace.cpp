#include "kernel/host_namespace.hpp"

#include "fs/unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace left4me {

namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

void inHostNamespace(int type, const std::function<void()>& fn)
{
    // setns(CLONE_NEWNS) refuses a thread that shares its fs struct with
    // others. Threads started after an earlier unshare (GLib's workers)
    // share ours again, so unshare every time; it is cheap when nobody
    // shares.
    if (type == CLONE_NEWNS && ::unshare(CLONE_FS) != 0)
    {
        fail("unshare(CLONE_FS)");
    }
    std::string name = type == CLONE_NEWNS ? "mnt" : "net";
    UniqueFd own(::open(("/proc/thread-self/ns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd host(::open(("/proc/1/ns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!own || !host)
    {
        fail("open the " + name + " namespace");
    }
    if (::setns(host.get(), type) != 0)
    {
        fail("setns(PID 1's " + name + " namespace)");
    }
    struct Return
    {
        int fd;
        int type;
        ~Return()
        {
            // Cannot fail for a namespace we were just in; if it did, staying
            // in PID 1's namespace is still correct for all our work.
            (void)::setns(fd, type);
        }
    } back{own.get(), type};
    fn();
}

void inHostMountNamespace(const std::function<void()>& fn)
{
    inHostNamespace(CLONE_NEWNS, fn);
}

} // namespace left4me
