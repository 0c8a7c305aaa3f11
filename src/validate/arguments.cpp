#include "validate/arguments.hpp"

#include "util/printable.hpp"

#include <algorithm>

namespace left4me::validate {

namespace {

bool isAlnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

Problem segment(std::string_view name, std::string_view extra, const char* pattern)
{
    auto rule = [&] { return quoteArgument(name) + " must be one path segment matching " + pattern; };
    if (name.empty() || name.size() > 64 || !isAlnum(name.front()))
    {
        return rule();
    }
    for (char c : name)
    {
        if (!isAlnum(c) && extra.find(c) == std::string_view::npos)
        {
            return rule();
        }
    }
    return std::nullopt;
}

} // namespace

Problem overlayName(std::string_view name)
{
    return segment(name, "_.-", "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
}

Problem instanceName(std::string_view name)
{
    return segment(name, "_.-", "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
}

Problem addonSegment(std::string_view name)
{
    return segment(name, "_.+-", "[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}");
}

Problem addonUnitName(std::string_view addon, std::string_view name)
{
    auto shown = quoteArgument(name);
    std::string prefix = std::string(addon) + "-";
    bool service = name.size() > 8 && name.substr(name.size() - 8) == ".service";
    bool timer = name.size() > 6 && name.substr(name.size() - 6) == ".timer";
    if (!service && !timer)
    {
        return shown + " is neither a .service nor a .timer unit";
    }
    if (name.substr(0, prefix.size()) != prefix)
    {
        return shown + " does not start with \"" + prefix + "\": an add-on's units carry its name";
    }
    auto stem = name.substr(prefix.size(), name.size() - prefix.size() - (service ? 8 : 6));
    if (stem.empty())
    {
        return shown + " has nothing between \"" + prefix + "\" and its suffix";
    }
    if (name.size() > 255)
    {
        return shown + " is longer than the 255 characters of a unit name";
    }
    for (char c : name)
    {
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!(alnum || c == ':' || c == '_' || c == '.' || c == '-'))
        {
            return shown + " contains " + quoteArgument(std::string_view(&c, 1)) +
                   "; a unit name here has only letters, digits, ':', '_', '.' and '-' (no templates)";
        }
    }
    return std::nullopt;
}

Problem serverTemplate(std::string_view name)
{
    constexpr std::string_view suffix = "@.service";
    auto prefix = name.substr(0, name.size() >= suffix.size() ? name.size() - suffix.size() : 0);
    if (!name.ends_with(suffix) || segment(prefix, "_.:-", ""))
    {
        return quoteArgument(name) + " must be a template unit name matching [A-Za-z0-9][A-Za-z0-9_.:-]{0,63}@.service";
    }
    if (name == "left4me-build@.service")
    {
        return quoteArgument(name) + " is the daemon's own build template, whose instances only StartBuild may start";
    }
    return std::nullopt;
}

Problem script(std::string_view source)
{
    if (source.size() > maxScriptBytes)
    {
        return "is " + std::to_string(source.size()) + " bytes; the limit is " + std::to_string(maxScriptBytes) +
               " bytes (1 MiB)";
    }
    if (source.find('\0') != std::string_view::npos)
    {
        return "contains a NUL byte; a bash script cannot";
    }
    return std::nullopt;
}

Problem absoluteDirectoryPath(std::string_view path)
{
    if (path.empty() || path.front() != '/')
    {
        return quoteArgument(path) + " must be an absolute path";
    }
    if (path.size() > 1024)
    {
        return "is longer than 1024 bytes";
    }
    for (char c : path)
    {
        auto u = static_cast<unsigned char>(c);
        // overlayfs splits its options on , and lowerdir= on :, and mount(8)
        // reads a " in an option as a quote.
        if (u < 0x20 || u == 0x7f || c == ',' || c == ':' || c == '\\' || c == '=' || c == '"')
        {
            return quoteArgument(path) +
                   " contains a control character or one of , : \\ = \" which are not allowed in paths";
        }
    }
    if (path == "/")
    {
        return "must not be the root directory";
    }
    std::size_t start = 1;
    while (start <= path.size())
    {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
        {
            end = path.size();
        }
        auto part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
        {
            return quoteArgument(path) +
                   " must be normalized: no empty, \".\" or \"..\" segments and no trailing slash";
        }
        start = end + 1;
    }
    return std::nullopt;
}

Problem relativeBinaryPath(std::string_view path)
{
    if (path.empty() || path.front() == '/')
    {
        return quoteArgument(path) + " must be a relative path";
    }
    std::size_t count = 0;
    std::size_t start = 0;
    while (start <= path.size())
    {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
        {
            end = path.size();
        }
        if (++count > maxBinarySegments)
        {
            return quoteArgument(path) + " has more than 8 path segments";
        }
        if (auto problem = addonSegment(path.substr(start, end - start)))
        {
            return quoteArgument(path) + ": every segment must match [A-Za-z0-9][A-Za-z0-9_.+-]{0,63}";
        }
        start = end + 1;
    }
    return std::nullopt;
}

Problem layers(const std::vector<std::string>& layers)
{
    if (layers.empty() || layers.size() > maxLayers)
    {
        return "must hold 1 to 64 directories, not " + std::to_string(layers.size());
    }
    for (std::size_t i = 0; i < layers.size(); ++i)
    {
        if (auto problem = absoluteDirectoryPath(layers[i]))
        {
            return "[" + std::to_string(i) + "] " + *problem;
        }
    }
    return std::nullopt;
}

Problem userName(std::string_view name)
{
    auto valid = !name.empty() && name.size() <= 31 &&
                 (std::islower(static_cast<unsigned char>(name.front())) != 0 || name.front() == '_');
    for (char c : name)
    {
        valid = valid && (std::islower(static_cast<unsigned char>(c)) != 0 ||
                          std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-');
    }
    if (!valid)
    {
        return quoteArgument(name) + " must be a user name matching [a-z_][a-z0-9_-]{0,30}";
    }
    return std::nullopt;
}

std::optional<std::string> normalizeCapabilityName(std::string_view name)
{
    std::string lower;
    for (char c : name)
    {
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (lower.rfind("cap_", 0) != 0)
    {
        lower = "cap_" + lower;
    }
    if (lower.size() <= 4 || lower.size() > 40 ||
        !std::all_of(lower.begin(), lower.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }))
    {
        return std::nullopt;
    }
    return lower;
}

Problem options(const std::map<std::string, std::string>& given, const std::map<std::string, std::string>& allowed)
{
    for (const auto& [key, signature] : given)
    {
        auto expected = allowed.find(key);
        if (expected == allowed.end())
        {
            std::string known;
            for (const auto& [name, unused] : allowed)
            {
                known += (known.empty() ? "" : ", ") + name;
            }
            return "key " + quoteArgument(key) + " is not a known option" +
                   (known.empty() ? std::string(" (this method accepts no options yet)") : " (known: " + known + ")");
        }
        if (signature != expected->second)
        {
            return "key " + quoteArgument(key) + " must hold a value of D-Bus type '" + expected->second + "', not '" +
                   signature + "'";
        }
    }
    return std::nullopt;
}

} // namespace left4me::validate
