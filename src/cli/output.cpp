#include "cli/output.hpp"

#include <pwd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace left4me::cli {

nlohmann::json toJson(const sdbus::Variant& value)
{
    const std::string type = value.peekValueType();
    if (type == "t")
    {
        return value.get<uint64_t>();
    }
    if (type == "u")
    {
        return value.get<uint32_t>();
    }
    if (type == "i")
    {
        return value.get<int32_t>();
    }
    if (type == "b")
    {
        return value.get<bool>();
    }
    if (type == "d")
    {
        return value.get<double>();
    }
    if (type == "s")
    {
        return value.get<std::string>();
    }
    if (type == "o")
    {
        return std::string(value.get<sdbus::ObjectPath>());
    }
    if (type == "as")
    {
        return value.get<std::vector<std::string>>();
    }
    return nullptr; // a type this version does not know: shown as null, never guessed
}

nlohmann::json toJson(const std::map<std::string, sdbus::Variant>& properties)
{
    auto object = nlohmann::json::object();
    for (const auto& [name, value] : properties)
    {
        object[name] = toJson(value);
    }
    return object;
}

nlohmann::json objectJson(const std::string& path, const std::map<std::string, sdbus::Variant>& properties)
{
    auto object = toJson(properties);
    object["Path"] = path;
    return object;
}

void printObjectsJson(const std::vector<std::pair<std::string, std::map<std::string, sdbus::Variant>>>& objects)
{
    auto array = nlohmann::json::array();
    for (const auto& [path, properties] : objects)
    {
        array.push_back(objectJson(path, properties));
    }
    printJsonLine(array);
}

void printTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows, bool legend)
{
    std::vector<size_t> widths(header.size());
    auto measure = [&](const std::vector<std::string>& row) {
        for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
        {
            widths[i] = std::max(widths[i], row[i].size());
        }
    };
    measure(header);
    std::for_each(rows.begin(), rows.end(), measure);
    auto print = [&](const std::vector<std::string>& row) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i)
        {
            line += row[i];
            if (i + 1 < row.size())
            {
                line.append(widths[i] - row[i].size() + 2, ' ');
            }
        }
        std::printf("%s\n", line.c_str());
    };
    if (legend)
    {
        print(header);
    }
    std::for_each(rows.begin(), rows.end(), print);
}

std::string localTime(uint64_t usec)
{
    if (usec == 0)
    {
        return "-";
    }
    std::time_t seconds = static_cast<std::time_t>(usec / 1000000);
    std::tm tm{};
    localtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return text;
}

std::string userName(uint32_t uid)
{
    passwd entry{};
    passwd* found = nullptr;
    std::vector<char> buffer(4096);
    if (getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    {
        return found->pw_name;
    }
    return std::to_string(uid);
}

void printJsonLine(const nlohmann::json& value)
{
    // Invalid UTF-8 cannot come from the bus (D-Bus strings are valid), so
    // dump() never throws here; replace keeps that true whatever happens.
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

} // namespace left4me::cli
