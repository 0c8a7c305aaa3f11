#pragma once

#include "fs/unique_fd.hpp"
#include "kernel/idmap.hpp"

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

class BindMount;

// A directory beneath a configured root, resolved in PID 1's mount namespace
// (openat2 beneath the root, no symlinks) and held by an O_PATH fd until it
// is bound: what attach() binds is the directory checked here, whatever a
// path says by then. A build opens its overlay when it is asked for, and
// binds it once systemd has told which user the build runs as.
class BindSource
{
  public:
    // Throws BindError: ENOENT/ENOTDIR/ELOOP/EXDEV when RELATIVE is missing
    // or not a plain directory beneath ROOT. With PROBE_USERNS_FD (any user
    // namespace with a mapping), also tries an idmapped clone and throws
    // EOPNOTSUPP when the filesystem cannot be idmapped, so that a caller
    // hears it before anything starts. Throws KernelUnsupported without
    // openat2 or the mount API.
    static BindSource open(const std::string& root, const std::string& relative, int probeUsernsFd = -1);

    // Clones the directory and attaches the clone at TARGET in PID 1's mount
    // namespace, nosuid,nodev, and idmapped through USERNS_FD (see
    // idmapUserNamespace). Throws BindError or KernelUnsupported.
    [[nodiscard]] BindMount attach(const std::string& target, int usernsFd) const;

  private:
    BindSource(UniqueFd dir, std::string shown) : dir_(std::move(dir)), shown_(std::move(shown)) {}
    UniqueFd dir_;
    std::string shown_; // ROOT/RELATIVE, for messages
};

// Owns a bind mount attached in PID 1's mount namespace, where units see
// it: a build's overlay at the mount point its unit's BindPaths= names.
// Destroying the owner detaches it.
class BindMount
{
  public:
    // Detaches a mount left at TARGET by an earlier daemon, if any.
    static void detach(const std::string& target);
    // Whether something is mounted on TARGET (in PID 1's mount namespace).
    static bool isMounted(const std::string& target);
    // Takes ownership of a mount an earlier daemon left at TARGET for a build
    // that is still running: it is detached when the owner goes.
    static BindMount adopt(std::string target) { return BindMount(std::move(target)); }

    BindMount() = default;
    BindMount(const BindMount&) = delete;
    BindMount& operator=(const BindMount&) = delete;
    BindMount(BindMount&& other) noexcept;
    BindMount& operator=(BindMount&& other) noexcept;
    ~BindMount();

    [[nodiscard]] bool attached() const { return !target_.empty(); }
    void reset();
    // Gives the mount up without detaching it: the daemon exits while the
    // build runs, and the next daemon adopts the mount with the build.
    void release() { target_.clear(); }

  private:
    friend class BindSource;
    explicit BindMount(std::string target) : target_(std::move(target)) {}
    std::string target_;
};

} // namespace left4me
