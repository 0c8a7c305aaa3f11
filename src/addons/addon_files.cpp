#include "addons/addon_files.hpp"

#include "fs/resolve.hpp"
#include "ops/op_error.hpp"
#include "util/users.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace left4me {

namespace {

[[noreturn]] void invalid(const std::string& message)
{
    throw OpError(ErrorKind::invalidArgument, message);
}

[[noreturn]] void failed(const std::string& message)
{
    throw OpError(ErrorKind::failed, message);
}

std::string errnoText(int error)
{
    return std::strerror(error);
}

// Maps an openat2 failure on the way to SHOWN to the refusal it means.
[[noreturn]] void refuseOpen(int error, const std::string& argument, const std::string& shown, const char* what)
{
    switch (error)
    {
    case ENOENT:
        invalid("Argument " + argument + ": " + shown + " does not exist.");
    case ELOOP:
        invalid("Argument " + argument + ": " + shown + " has a symlink in its path; symlinks are refused.");
    case EXDEV:
        invalid("Argument " + argument + ": " + shown + " leaves the add-on root or crosses a mount point.");
    case ENOTDIR:
        invalid("Argument " + argument + ": a component of " + shown + " is not a directory.");
    default:
        failed(std::string("Cannot open ") + what + " of " + shown + ": " + errnoText(error));
    }
}

} // namespace

uid_t ownerUid(const std::string& user)
{
    auto ids = lookupUser(user);
    if (!ids)
    {
        failed("The configured owner user \"" + user + "\" does not exist; run systemd-sysusers.");
    }
    return ids->uid;
}

UniqueFd openAddonsRoot(const std::string& addonsRoot)
{
    UniqueFd root = openRoot(addonsRoot);
    if (!root)
    {
        failed("The add-ons root " + addonsRoot + " cannot be opened: " + errnoText(errno));
    }
    return root;
}

UniqueFd openAddonDirectory(int rootFd, const std::string& relative, const std::string& argument,
                            const std::string& shown)
{
    UniqueFd dir = openBeneath(rootFd, relative, O_PATH | O_DIRECTORY);
    if (!dir)
    {
        refuseOpen(errno, argument, shown, "the directory");
    }
    return dir;
}

UniqueFd openAddonFile(int dirFd, const std::string& name, const std::string& argument, const std::string& shown)
{
    // No O_NOFOLLOW: with O_PATH it would open a trailing symlink itself;
    // without it RESOLVE_NO_SYMLINKS refuses any symlink with ELOOP.
    UniqueFd path = openBeneath(dirFd, name, O_PATH);
    if (!path)
    {
        refuseOpen(errno, argument, shown, "the file");
    }
    struct stat st
    {
    };
    if (::fstat(path.get(), &st) != 0)
    {
        failed("Cannot inspect " + shown + ": " + errnoText(errno));
    }
    if (!S_ISREG(st.st_mode))
    {
        invalid("Argument " + argument + ": " + shown +
                " must be a regular file, not a directory, FIFO, device or socket.");
    }
    // Only now, knowing it is a regular file, open it for real; through the
    // O_PATH fd, so it is the very file just checked.
    UniqueFd fd(::open(("/proc/self/fd/" + std::to_string(path.get())).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd)
    {
        failed("Cannot open " + shown + ": " + errnoText(errno));
    }
    return fd;
}

struct stat checkAddonFile(int fd, const std::string& argument, const std::string& shown, uid_t owner,
                           const std::string& ownerName)
{
    struct stat st
    {
    };
    if (::fstat(fd, &st) != 0)
    {
        failed("Cannot inspect " + shown + ": " + errnoText(errno));
    }
    if (!S_ISREG(st.st_mode))
    {
        invalid("Argument " + argument + ": " + shown + " must be a regular file.");
    }
    if (st.st_nlink != 1)
    {
        invalid("Argument " + argument + ": " + shown + " has " + std::to_string(st.st_nlink) +
                " hard links; it must have exactly one, so that no other name reaches the file the daemon checked.");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
        invalid("Argument " + argument + ": " + shown +
                " is writable by its group or by others; make it writable by its owner only (chmod go-w).");
    }
    if (st.st_uid != 0 && st.st_uid != owner)
    {
        invalid("Argument " + argument + ": " + shown + " must be owned by root or by " + ownerName + ", not by uid " +
                std::to_string(st.st_uid) + ".");
    }
    if ((st.st_mode & (S_ISUID | S_ISGID)) != 0)
    {
        invalid("Argument " + argument + ": " + shown + " is setuid or setgid; such files are refused.");
    }
    return st;
}

} // namespace left4me
