#pragma once

#include "fs/unique_fd.hpp"

#include <stdexcept>
#include <string>

namespace left4me {

// The running kernel lacks a system call the daemon is built on (ENOSYS):
// openat2 (Linux 5.6), or open_tree, move_mount and mount_setattr (5.12).
// No fallback exists that keeps the same guarantees, so every method maps
// this to Error.NotSupported instead of degrading to path-based calls.
class KernelUnsupported : public std::runtime_error
{
  public:
    explicit KernelUnsupported(const std::string& call)
        : std::runtime_error("This kernel does not provide " + call +
                             "(2), which the daemon needs to act on files without following symlinks out of "
                             "the configured roots; run Linux 5.12 or later, and check that no seccomp "
                             "filter hides the call.")
    {
    }
};

// Opens ROOT itself (an absolute path we trust: it comes from the
// configuration) as an O_PATH directory fd.
UniqueFd openRoot(const std::string& root);

// Opens RELATIVE beneath ROOT_FD with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no
// component may be a symlink or leave the root's mount. FLAGS are open(2)
// flags. Returns an invalid fd and sets errno on failure; throws
// KernelUnsupported when openat2 itself is missing.
UniqueFd openBeneath(int rootFd, const std::string& relative, int flags);

} // namespace left4me
