#include "kernel/bind_mount.hpp"

#include "fs/resolve.hpp"
#include "kernel/host_namespace.hpp"
#include "util/log.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace left4me {

namespace {

int openTree(int dfd, const char* path, unsigned flags)
{
    return static_cast<int>(::syscall(SYS_open_tree, dfd, path, flags));
}

int moveMount(int fromFd, const char* fromPath, int toFd, const char* toPath, unsigned flags)
{
    return static_cast<int>(::syscall(SYS_move_mount, fromFd, fromPath, toFd, toPath, flags));
}

int mountSetattr(int dfd, const char* path, unsigned flags, mount_attr* attr)
{
    return static_cast<int>(::syscall(SYS_mount_setattr, dfd, path, flags, attr, sizeof(*attr)));
}

[[noreturn]] void fail(const std::string& what, const char* call = nullptr)
{
    int error = errno;
    if (error == ENOSYS && call != nullptr)
    {
        throw KernelUnsupported(call);
    }
    throw BindError(error, what + ": " + std::strerror(error));
}

// The source directory ROOT/RELATIVE as an O_PATH fd, reached beneath ROOT
// without symlinks. Runs in PID 1's mount namespace.
UniqueFd openSource(const std::string& root, const std::string& relative)
{
    UniqueFd rootFd = openRoot(root);
    if (!rootFd)
    {
        fail("cannot open the root " + root);
    }
    UniqueFd dir = openBeneath(rootFd.get(), relative, O_PATH | O_DIRECTORY);
    if (!dir)
    {
        fail(root + "/" + relative + " is not a directory beneath " + root + " reachable without symlinks");
    }
    return dir;
}

// A detached clone of DIR, nosuid,nodev, idmapped through USERNS_FD.
UniqueFd cloneTree(int dir, const std::string& shown, int usernsFd)
{
    UniqueFd tree(openTree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
    if (!tree)
    {
        fail("cannot clone " + shown, "open_tree");
    }
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(usernsFd);
    if (mountSetattr(tree.get(), "", AT_EMPTY_PATH, &attr) != 0)
    {
        if (errno == ENOSYS)
        {
            fail("", "mount_setattr");
        }
        if (errno == EINVAL || errno == EOPNOTSUPP || errno == EPERM)
        {
            // overlayfs (among others) refuses idmapped mounts with EINVAL.
            errno = EOPNOTSUPP;
            fail(shown + " is on a filesystem that cannot be idmapped");
        }
        fail("cannot make the clone of " + shown + " nosuid,nodev and idmapped");
    }
    return tree;
}

} // namespace

BindSource BindSource::open(const std::string& root, const std::string& relative, int probeUsernsFd)
{
    UniqueFd dir;
    auto shown = root + "/" + relative;
    // Resolve and clone in PID 1's namespace: the daemon's own view of the
    // roots may be read-only (ProtectSystem=), and a clone keeps that flag.
    inHostMountNamespace([&] {
        dir = openSource(root, relative);
        if (probeUsernsFd >= 0)
        {
            (void)cloneTree(dir.get(), shown, probeUsernsFd); // a trial, thrown away unattached
        }
    });
    return {std::move(dir), shown};
}

BindMount BindSource::attach(const std::string& target, int usernsFd) const
{
    BindMount bind;
    inHostMountNamespace([&] {
        UniqueFd tree = cloneTree(dir_.get(), shown_, usernsFd);
        if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST)
        {
            fail("cannot create the mount point " + target);
        }
        if (moveMount(tree.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
        {
            fail("cannot attach " + shown_ + " at " + target, "move_mount");
        }
        bind.target_ = target;
    });
    return bind;
}

bool BindMount::isMounted(const std::string& target)
{
    bool mounted = false;
    inHostMountNamespace([&] {
        // A mount on TARGET gives it another mount id than its parent's.
        struct statx here
        {
        };
        struct statx parent
        {
        };
        auto dir = std::filesystem::path(target).parent_path();
        mounted = ::statx(AT_FDCWD, target.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &here) == 0 &&
                  ::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &parent) == 0 &&
                  here.stx_mnt_id != parent.stx_mnt_id;
    });
    return mounted;
}

void BindMount::detach(const std::string& target)
{
    inHostMountNamespace([&] {
        // MNT_DETACH: copies of this mount inside the build's own namespace
        // die with it; the host must lose the mount now in any case.
        while (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
        {
        }
        if (errno != EINVAL && errno != ENOENT)
        {
            log::warning("Cannot detach " + target + ": " + std::strerror(errno), {{"LEFT4ME_MOUNT", target}});
        }
        (void)::rmdir(target.c_str());
    });
}

BindMount::BindMount(BindMount&& other) noexcept : target_(std::exchange(other.target_, {})) {}

BindMount& BindMount::operator=(BindMount&& other) noexcept
{
    if (this != &other)
    {
        reset();
        target_ = std::exchange(other.target_, {});
    }
    return *this;
}

BindMount::~BindMount()
{
    reset();
}

void BindMount::reset()
{
    if (target_.empty())
    {
        return;
    }
    try
    {
        detach(target_);
    }
    catch (const std::exception& e)
    {
        log::error(std::string("Cannot enter PID 1's mount namespace to detach a build mount: ") + e.what(),
                   {{"LEFT4ME_MOUNT", target_}});
    }
    target_.clear();
}

} // namespace left4me
