#include "kernel/idmap.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

namespace left4me {

namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::system_error(errno, std::generic_category(), what);
}

void writeProcFile(const std::string& path, const std::string& content)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    {
        fail("cannot write " + path);
    }
}

} // namespace

UniqueFd idmapUserNamespace(const Idmap& idmap)
{
    int ready[2];
    int release[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
    {
        fail("pipe");
    }
    UniqueFd readyRead(ready[0]);
    UniqueFd readyWrite(ready[1]);
    if (::pipe2(release, O_CLOEXEC) != 0)
    {
        fail("pipe");
    }
    UniqueFd releaseRead(release[0]);
    UniqueFd releaseWrite(release[1]);

    pid_t child = ::fork();
    if (child < 0)
    {
        fail("fork");
    }
    if (child == 0)
    {
        // Only async-signal-safe calls here: the parent has other threads.
        // Our copy of the release pipe's write end must go, or the read
        // below never sees the parent close its own.
        ::close(releaseWrite.get());
        char byte = ::unshare(CLONE_NEWUSER) == 0 ? 'y' : 'n';
        (void)!::write(readyWrite.get(), &byte, 1);
        (void)!::read(releaseRead.get(), &byte, 1);
        ::_exit(0);
    }
    releaseRead.reset();
    readyWrite.reset();
    auto reap = [&] {
        releaseWrite.reset(); // the child's read returns; it exits
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR)
        {
        }
    };
    char byte = 0;
    if (::read(readyRead.get(), &byte, 1) != 1 || byte != 'y')
    {
        reap();
        errno = EPERM;
        fail("cannot create a user namespace for the idmapped mount");
    }
    UniqueFd ns;
    try
    {
        auto proc = "/proc/" + std::to_string(child);
        // Inside the namespace (and so on disk) the ids are "to"; outside,
        // where the sandbox runs, they are "from".
        writeProcFile(proc + "/uid_map", std::to_string(idmap.toUid) + " " + std::to_string(idmap.fromUid) + " 1\n");
        writeProcFile(proc + "/setgroups", "deny\n");
        writeProcFile(proc + "/gid_map", std::to_string(idmap.toGid) + " " + std::to_string(idmap.fromGid) + " 1\n");
        ns.reset(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns)
        {
            fail("cannot open the user namespace");
        }
    }
    catch (...)
    {
        reap();
        throw;
    }
    reap();
    return ns;
}

int IdmapCache::get(const Idmap& idmap)
{
    if (!fd_ || key_ != idmap)
    {
        fd_ = idmapUserNamespace(idmap);
        key_ = idmap;
    }
    return fd_.get();
}

} // namespace left4me
