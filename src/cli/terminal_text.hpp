#pragma once

// Text that came from a build script, shown to a person at a terminal.
// A script may print escape sequences that would act on the terminal of
// whoever watches its log: set the window title, write the clipboard (OSC
// 52), move the cursor to overwrite earlier lines, or answer back into the
// terminal's input. On a terminal they are shown, not obeyed; pipes and
// --json get the text exactly as the script wrote it.
#include <string>
#include <string_view>

namespace left4me::cli {

enum class Controls
{
    escape, // each control byte as \xNN; TAB stays (a log's columns need it)
    blank,  // each control character, TAB too, as one space (a one-line status)
};

// TEXT with its control characters (C0, DEL and C1: util/printable.hpp)
// made harmless as HOW says. Everything else, invalid UTF-8 included, is
// left as it is.
std::string terminalText(std::string_view text, Controls how);

} // namespace left4me::cli
