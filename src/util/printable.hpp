#pragma once

// Text from outside, a caller's argument or a build script's output, made
// safe to show: in a D-Bus error message, in the journal, on a terminal.
#include <cstddef>
#include <string>
#include <string_view>

namespace left4me {

// The length of the control character at TEXT[I], 0 if there is none: 1 for
// C0 and DEL, 2 for a C1 control (U+0080..U+009F, which UTF-8 writes as
// C2 80..C2 9F, and which some terminals act on: U+009B is CSI).
std::size_t controlAt(std::string_view text, std::size_t i);

// Appends TEXT to OUT with each byte of each control character as \xNN;
// TAB passes if KEEP_TAB. Everything else, invalid UTF-8 included, passes.
void appendEscaped(std::string& out, std::string_view text, bool keepTab = false);

// TEXT in double quotes for a message, its control characters escaped and
// at most LIMIT of its bytes shown, cut between characters with "..." after
// the quote. The cut matters: D-Bus carries only valid UTF-8, and
// dbus-daemon disconnects a peer that sends anything else, so half a
// character in an error reply would cost the daemon its bus connection.
std::string quoteArgument(std::string_view text, std::size_t limit = 64);

} // namespace left4me
