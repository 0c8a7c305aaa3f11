#pragma once

#include "util/unique_fd.hpp"

#include <string>

namespace left4me {

// Opens ROOT itself (an absolute path we trust: it comes from the
// configuration) as an O_PATH directory fd.
UniqueFd openRoot(const std::string& root);

// Opens RELATIVE beneath ROOT_FD with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): no
// component may be a symlink or leave the root's mount. FLAGS are open(2)
// flags. Returns an invalid fd and sets errno on failure.
UniqueFd openBeneath(int rootFd, const std::string& relative, int flags);

} // namespace left4me
