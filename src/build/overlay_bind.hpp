#pragma once

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

// Owns the bind mount of one overlay directory at a build's mount point,
// in PID 1's mount namespace, where the build unit's BindPaths= looks. The
// directory is resolved beneath the overlays root with openat2 and cloned
// from that fd, so a symlink swapped in after the check cannot redirect it.
// The mount is always nosuid,nodev. Destroying the owner detaches it.
class OverlayBind
{
  public:
    // Throws BindError: ENOENT/ENOTDIR/ELOOP/EXDEV when OVERLAY is missing or
    // not a plain directory beneath ROOT; other errors for mount failures.
    static OverlayBind create(const std::string& root, const std::string& overlay, const std::string& target);
    // Detaches a mount left at TARGET by an earlier daemon, if any.
    static void detach(const std::string& target);

    OverlayBind() = default;
    OverlayBind(const OverlayBind&) = delete;
    OverlayBind& operator=(const OverlayBind&) = delete;
    OverlayBind(OverlayBind&& other) noexcept;
    OverlayBind& operator=(OverlayBind&& other) noexcept;
    ~OverlayBind();

    void reset();

  private:
    explicit OverlayBind(std::string target) : target_(std::move(target)) {}
    std::string target_;
};

} // namespace left4me
