#include "cli/terminal_text.hpp"

#include "util/printable.hpp"

namespace left4me::cli {

std::string terminalText(std::string_view text, Controls how)
{
    std::string shown;
    shown.reserve(text.size());
    if (how == Controls::escape)
    {
        appendEscaped(shown, text, true);
        return shown;
    }
    for (std::size_t i = 0; i < text.size();)
    {
        std::size_t length = controlAt(text, i);
        shown += length == 0 ? text[i] : ' ';
        i += length == 0 ? 1 : length;
    }
    return shown;
}

} // namespace left4me::cli
