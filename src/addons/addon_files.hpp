#pragma once

#include "fs/unique_fd.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

// Files of an add-on's tree, <addons_root>/<addon>/versions/<version>/...,
// which the add-on's owner user may write: opened with openat2 beneath the
// root without following any symlink, checked on the fd, and from then on
// used through that fd only. ApplyCaps opens binaries this way and
// InstallUnits unit files. Every refusal is an OpError that names the
// method's ARGUMENT and the file as SHOWN to the caller.
namespace left4me {

// The uid of the configured owner user; Failed if it does not exist.
uid_t ownerUid(const std::string& user);

// <addons_root> itself; Failed if it cannot be opened.
UniqueFd openAddonsRoot(const std::string& addonsRoot);

// The directory RELATIVE beneath ROOT_FD (O_PATH).
UniqueFd openAddonDirectory(int rootFd, const std::string& relative, const std::string& argument,
                            const std::string& shown);

// The regular file NAME in DIR_FD, opened for reading through the O_PATH fd
// that was checked to be a regular file.
UniqueFd openAddonFile(int dirFd, const std::string& name, const std::string& argument, const std::string& shown);

// What a file the daemon acts on for an add-on must be: regular, with
// exactly one link (no other name can reach it), writable by its owner
// alone, owned by root or OWNER, and not setuid or setgid. Returns its stat.
struct stat checkAddonFile(int fd, const std::string& argument, const std::string& shown, uid_t owner,
                           const std::string& ownerName);

} // namespace left4me
