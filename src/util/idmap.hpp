#pragma once

#include "util/unique_fd.hpp"

#include <sys/types.h>

namespace left4me {

// One id mapping for an idmapped mount: files that FROM_UID/FROM_GID create
// through the mount land on disk as TO_UID/TO_GID, and files owned on disk
// by TO_UID/TO_GID appear as FROM_UID/FROM_GID. Every other id appears as
// the overflow id (nobody).
struct Idmap
{
    uid_t fromUid;
    gid_t fromGid;
    uid_t toUid;
    gid_t toGid;
};

// A user namespace fd carrying IDMAP, for mount_setattr(MOUNT_ATTR_IDMAP).
// A short-lived child process creates the namespace; it is gone when this
// returns. Throws std::system_error.
UniqueFd idmapUserNamespace(const Idmap& idmap);

} // namespace left4me
