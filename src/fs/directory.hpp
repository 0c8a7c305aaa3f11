#pragma once

#include <string>
#include <vector>

namespace left4me {

// The names in the directory open at DIR_FD (any fd of it, O_PATH too),
// without "." and "..". A directory that cannot be read yields none: its
// callers list what they may clean up or look at, and a process whose
// /proc entry vanished meanwhile is simply not there. DIR_FD stays open.
std::vector<std::string> directoryEntries(int dirFd);

} // namespace left4me
