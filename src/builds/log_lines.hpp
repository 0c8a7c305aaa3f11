#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace left4me {

// D-Bus strings must be valid UTF-8 without NUL. Replaces every byte that is
// not part of a valid UTF-8 sequence, and every NUL, with U+FFFD.
std::string sanitizeUtf8(std::string_view bytes);

// Cuts a byte stream into lines as the script wrote them. A line ends at
// '\n' (which is dropped); a line longer than maxLineBytes is split into
// pieces of at most that many bytes, so one runaway line cannot exhaust
// memory. Lines come out sanitized.
class LineSplitter
{
  public:
    static constexpr std::size_t maxLineBytes = std::size_t{64} * 1024;

    // Appends the complete lines found in CHUNK to OUT.
    void feed(std::string_view chunk, std::vector<std::string>& out);
    // At end of stream: a last line with no final newline, if any.
    void finish(std::vector<std::string>& out);
    // True when no partial line is buffered: the next byte starts a line.
    [[nodiscard]] bool atLineStart() const { return partial_.empty(); }

  private:
    std::string partial_;
};

} // namespace left4me
