#pragma once

#include "fs/unique_fd.hpp"

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

    bool operator==(const Idmap&) const = default;
};

// A user namespace fd carrying IDMAP, for mount_setattr(MOUNT_ATTR_IDMAP).
// A short-lived child process creates the namespace; it is gone when this
// returns. Throws std::system_error.
UniqueFd idmapUserNamespace(const Idmap& idmap);

// The user namespace of one Idmap, created on first use and then kept:
// nothing runs in it, it is only a mapping, and creating one costs a fork
// (a third of a trivial build's own work). Another mapping (the users were
// re-created with other ids) replaces it.
class IdmapCache
{
  public:
    // An fd valid until the next call. Throws as idmapUserNamespace().
    int get(const Idmap& idmap);

  private:
    Idmap key_{};
    UniqueFd fd_;
};

} // namespace left4me
