#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace left4me {

// Creates PATH, which must not exist yet (O_EXCL, no symlink followed), with
// CONTENT and exactly MODE, whatever the umask. Throws std::system_error.
void writeNewFile(const std::string& path, std::string_view content, mode_t mode);

// Replaces PATH with CONTENT atomically: written to PATH.tmp, then renamed
// over it, so a reader (or a daemon after a crash) sees the old file or the
// new one, never a part. Throws std::system_error.
void replaceFile(const std::string& path, std::string_view content, mode_t mode);

} // namespace left4me
