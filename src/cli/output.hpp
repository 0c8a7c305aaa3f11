#pragma once

// What the commands print: JSON for --json, aligned tables and
// "Name: value" lists for people.
#include <nlohmann/json.hpp>
#include <sdbus-c++/Types.h>

#include <map>
#include <string>
#include <vector>

namespace left4me::cli {

// A property value as JSON, by its D-Bus signature (t u i s o b d as).
nlohmann::json toJson(const sdbus::Variant& value);
nlohmann::json toJson(const std::map<std::string, sdbus::Variant>& properties);
// One object for --json: its properties plus "Path".
nlohmann::json objectJson(const std::string& path, const std::map<std::string, sdbus::Variant>& properties);
// A list command's --json: one array of objectJson, in the order given.
void printObjectsJson(const std::vector<std::pair<std::string, std::map<std::string, sdbus::Variant>>>& objects);

// Prints ROWS under HEADER (unless not LEGEND: --no-legend, for scripts) in
// columns separated by two spaces; the last column is not padded.
void printTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows, bool legend);

// Microseconds since the epoch as local "YYYY-MM-DD HH:MM:SS"; "-" for 0.
std::string localTime(uint64_t usec);
// A uid as its user name, or the number if it has none.
std::string userName(uint32_t uid);

// Prints one JSON value on its own line and flushes (JSON Lines).
void printJsonLine(const nlohmann::json& value);

} // namespace left4me::cli
