#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace left4me {

// Creates PATH, which must not exist yet (O_EXCL, no symlink followed), with
// CONTENT and exactly MODE, whatever the umask. Throws std::system_error.
void writeNewFile(const std::string& path, std::string_view content, mode_t mode);

// Replaces PATH with CONTENT atomically: written to PATH.tmp, then renamed
// over it, so a reader (or a daemon after a crash) sees the old file or the
// new one, never a part. Throws std::system_error.
void replaceFile(const std::string& path, std::string_view content, mode_t mode);

// The records the daemon keeps one per file: each file in DIR named *.json,
// with its content, in name order. A missing DIR has none.
std::vector<std::pair<std::filesystem::path, std::string>> readJsonFiles(const std::string& dir);

} // namespace left4me
