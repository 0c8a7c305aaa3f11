#include "mounts/mount_record.hpp"

#include "fs/file_write.hpp"
#include "util/log.hpp"
#include "validate/arguments.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace left4me {

namespace fs = std::filesystem;

std::string toJson(const MountRecord& record)
{
    nlohmann::json doc = {{"instance", record.instance},  {"layers", record.layers},
                          {"unit", record.unit},          {"where", record.where},
                          {"read_only", record.readOnly}, {"persistent", record.persistent}};
    return doc.dump(2) + "\n";
}

std::optional<MountRecord> mountRecordFromJson(std::string_view text)
{
    try
    {
        auto doc = nlohmann::json::parse(text);
        MountRecord record;
        record.instance = doc.at("instance").get<std::string>();
        record.layers = doc.at("layers").get<std::vector<std::string>>();
        record.unit = doc.at("unit").get<std::string>();
        record.where = doc.at("where").get<std::string>();
        record.readOnly = doc.at("read_only").get<bool>();
        record.persistent = doc.at("persistent").get<bool>();
        // A record names paths the daemon acts on: it must pass the same
        // rules as the call that made it.
        if (validate::instanceName(record.instance) || validate::layers(record.layers))
        {
            return std::nullopt;
        }
        return record;
    }
    catch (const nlohmann::json::exception&)
    {
        return std::nullopt;
    }
}

std::map<std::string, MountRecord> loadMountRecords(const std::string& dir)
{
    std::map<std::string, MountRecord> records;
    for (const auto& [path, text] : readJsonFiles(dir))
    {
        auto record = mountRecordFromJson(text);
        if (!record || path.stem() != record->instance)
        {
            log::warning("Ignoring an unreadable mount record " + path.string());
            continue;
        }
        records[record->instance] = *record;
    }
    return records;
}

void saveMountRecord(const std::string& dir, const MountRecord& record)
{
    fs::create_directories(dir);
    replaceFile(dir + "/" + record.instance + ".json", toJson(record), 0644);
}

void removeMountRecord(const std::string& dir, const std::string& instance)
{
    std::error_code ec;
    fs::remove(dir + "/" + instance + ".json", ec);
}

} // namespace left4me
