#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace left4me {

// What the daemon remembers of one mounted instance. Kept as a JSON file
// per instance in the state directory, so a later activation of the daemon
// (after idle exit, a crash or a reboot) still knows its mounts.
struct MountRecord
{
    std::string instance;
    std::vector<std::string> layers;
    std::string unit;
    std::string where;
    bool readOnly = false;
    bool persistent = false;

    bool operator==(const MountRecord&) const = default;
};

std::string toJson(const MountRecord& record);
// nullopt for anything that is not a record this version wrote.
std::optional<MountRecord> mountRecordFromJson(std::string_view text);

// The records in DIR, by instance; unreadable files are skipped and logged.
std::map<std::string, MountRecord> loadMountRecords(const std::string& dir);
// Written to a temporary file and renamed, so a crash leaves the old record
// or the new one. Throws std::system_error.
void saveMountRecord(const std::string& dir, const MountRecord& record);
void removeMountRecord(const std::string& dir, const std::string& instance);

} // namespace left4me
