#include "builds/exit_record.hpp"

#include <signal.h>
#include <string.h>

#include <charconv>
#include <sstream>

namespace left4me {

namespace {

bool isWord(std::string_view s)
{
    if (s.empty() || s.size() > 64)
    {
        return false;
    }
    for (char c : s)
    {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
        {
            return false;
        }
    }
    return true;
}

std::optional<int32_t> number(std::string_view s)
{
    int32_t value = 0;
    auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (error != std::errc() || end != s.data() + s.size() || value < 0 || value > 255)
    {
        return std::nullopt;
    }
    return value;
}

// systemd names a killing signal without its SIG prefix ("KILL", "TERM").
std::optional<int32_t> signalNumber(std::string_view name)
{
    for (int n = 1; n < NSIG; ++n)
    {
        const char* abbrev = ::sigabbrev_np(n);
        if (abbrev != nullptr && name == abbrev)
        {
            return n;
        }
    }
    return number(name); // a real-time signal is given as a number
}

} // namespace

std::string formatExitRecord(std::string_view serviceResult, std::string_view exitCode, std::string_view exitStatus)
{
    auto word = [](std::string_view s) { return isWord(s) ? std::string(s) : std::string("-"); };
    return word(serviceResult) + " " + word(exitCode) + " " + word(exitStatus) + "\n";
}

std::optional<ExitRecord> parseExitRecord(std::string_view text)
{
    if (text.empty() || text.back() != '\n')
    {
        return std::nullopt; // not written whole
    }
    std::istringstream in{std::string(text)};
    std::string result;
    std::string code;
    std::string status;
    std::string extra;
    if (!(in >> result >> code >> status) || (in >> extra) || !isWord(result))
    {
        return std::nullopt;
    }
    ExitRecord record{result, -1};
    if (code == "exited")
    {
        auto value = number(status);
        if (!value)
        {
            return std::nullopt;
        }
        record.exitStatus = *value;
    }
    else if (code == "killed" || code == "dumped")
    {
        auto signal = signalNumber(status);
        if (!signal)
        {
            return std::nullopt;
        }
        record.exitStatus = 128 + *signal;
    }
    // "-": the main process never ran (the unit failed before it).
    return record;
}

} // namespace left4me
