#include "mounts/mount_record.hpp"

#include "fs/file_write.hpp"
#include "util/json_record.hpp"
#include "util/log.hpp"
#include "validate/arguments.hpp"

#include <filesystem>

namespace left4me {

namespace fs = std::filesystem;

std::string toJson(const MountRecord& record)
{
    nlohmann::json doc = {{"instance", record.instance},  {"layers", record.layers},
                          {"unit", record.unit},          {"where", record.where},
                          {"read_only", record.readOnly}, {"persistent", record.persistent}};
    return recordText(doc);
}

std::optional<MountRecord> mountRecordFromJson(std::string_view text)
{
    return readRecord(text, [](const RecordReader& r) {
        MountRecord record{r.string("instance"), r.strings("layers"),    r.string("unit"),
                           r.string("where"),    r.boolean("read_only"), r.boolean("persistent")};
        // A record names paths the daemon acts on: it must pass the same
        // rules as the call that made it.
        if (validate::instanceName(record.instance) || validate::layers(record.layers))
        {
            throw RecordError("names a path a Mount would refuse");
        }
        return record;
    });
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
