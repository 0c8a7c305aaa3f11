#pragma once

#include "util/idmap.hpp"

#include <stdexcept>
#include <string>

namespace left4me {

class BindError : public std::runtime_error
{
  public:
    BindError(int error, const std::string& what) : std::runtime_error(what), error_(error) {}
    [[nodiscard]] int error() const { return error_; }

  private:
    int error_;
};

// Owns a bind mount of a directory that lives beneath a configured root,
// attached in PID 1's mount namespace where units see it: a build's overlay
// at the mount point its unit's BindPaths= names, or a Mount layer at the
// short staging path the overlay's lowerdir= names. The directory is resolved
// beneath the root with openat2 and cloned from that fd, so a symlink swapped
// in after the check cannot redirect it. The mount is always nosuid,nodev.
// Destroying the owner detaches it.
class BindMount
{
  public:
    // With USERNS_FD (a user namespace carrying an Idmap, see IdmapCache),
    // the mount is idmapped. Throws BindError:
    // ENOENT/ENOTDIR/ELOOP/EXDEV when RELATIVE is missing or not a plain
    // directory beneath ROOT; EOPNOTSUPP when its filesystem cannot be
    // idmapped; other errors for other mount failures.
    static BindMount create(const std::string& root, const std::string& relative, const std::string& target,
                            int usernsFd = -1);
    // Detaches a mount left at TARGET by an earlier daemon, if any.
    static void detach(const std::string& target);
    // Resolves ROOT/RELATIVE exactly as create() does, binding nothing;
    // throws BindError the same way.
    static void checkSource(const std::string& root, const std::string& relative);
    // Takes ownership of a mount an earlier daemon left at TARGET for a build
    // that is still running: it is detached when the owner goes.
    static BindMount adopt(std::string target) { return BindMount(std::move(target)); }

    BindMount() = default;
    BindMount(const BindMount&) = delete;
    BindMount& operator=(const BindMount&) = delete;
    BindMount(BindMount&& other) noexcept;
    BindMount& operator=(BindMount&& other) noexcept;
    ~BindMount();

    void reset();
    // Gives the mount up without detaching it: the daemon exits while the
    // build runs, and the next daemon adopts the mount with the build.
    void release() { target_.clear(); }

  private:
    explicit BindMount(std::string target) : target_(std::move(target)) {}
    std::string target_;
};

} // namespace left4me
