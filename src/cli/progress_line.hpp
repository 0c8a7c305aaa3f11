#pragma once

// The progress line `build` keeps at the bottom of a terminal, below the log.
#include <cstddef>
#include <string>
#include <string_view>

namespace left4me::cli {

// "[ 42%] TEXT", or "[ ... ] TEXT" while the progress is unknown (negative),
// cut to fit COLUMNS - 1 characters so that it never wraps (a wrapped line
// could not be erased with one carriage return). Control characters in TEXT
// become spaces (terminal_text.hpp): the status comes from the script.
std::string progressLine(double fraction, std::string_view text, size_t columns);

} // namespace left4me::cli
