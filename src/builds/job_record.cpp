#include "builds/job_record.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <utility>

namespace left4me {

using Json = nlohmann::json;

namespace {

// get<T>() converts whatever number it finds: a float past T's range is
// undefined behaviour, 1.5 becomes 1 and an owner of 4294967296 becomes
// root. A record holds exact integers in range, or it is malformed.
template <typename T> T integer(const Json& value)
{
    if (value.is_number_unsigned() && std::in_range<T>(value.get<uint64_t>()))
    {
        return static_cast<T>(value.get<uint64_t>());
    }
    if (value.is_number_integer() && !value.is_number_unsigned() && std::in_range<T>(value.get<int64_t>()))
    {
        return static_cast<T>(value.get<int64_t>());
    }
    throw std::range_error("not an integer in range");
}

} // namespace

std::optional<JobState> jobStateFromString(std::string_view name)
{
    for (auto state :
         {JobState::starting, JobState::running, JobState::succeeded, JobState::failed, JobState::cancelled})
    {
        if (toString(state) == name)
        {
            return state;
        }
    }
    return std::nullopt;
}

bool isEnded(JobState state)
{
    return state == JobState::succeeded || state == JobState::failed || state == JobState::cancelled;
}

std::string serializeJobRecord(const JobRecord& record)
{
    const auto& info = record.info;
    Json doc = {
        {"id", info.id},
        {"overlay", info.overlay},
        {"unit", info.unit},
        {"owner", info.owner},
        {"created_at", info.createdAt},
        {"finished_at", info.finishedAt},
        {"state", std::string(toString(info.state))},
        {"result", info.result},
        {"exit_status", info.exitStatus},
        {"build_hash", info.buildHash},
        {"progress", info.progress},
        {"status_text", info.statusText},
        {"deadline_usec", record.deadlineUsec},
        {"boot_id", record.bootId},
    };
    if (record.log)
    {
        doc["log_lines"] = record.log->lines;
        doc["log_bytes"] = record.log->bytes;
    }
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<JobRecord> parseJobRecord(std::string_view text)
{
    try
    {
        auto doc = Json::parse(text);
        JobRecord record;
        auto& info = record.info;
        info.id = integer<uint64_t>(doc.at("id"));
        info.overlay = doc.at("overlay").get<std::string>();
        info.unit = doc.at("unit").get<std::string>();
        info.owner = integer<uid_t>(doc.at("owner"));
        info.createdAt = integer<uint64_t>(doc.at("created_at"));
        info.finishedAt = integer<uint64_t>(doc.at("finished_at"));
        auto state = jobStateFromString(doc.at("state").get<std::string>());
        if (!state)
        {
            return std::nullopt;
        }
        info.state = *state;
        info.result = doc.at("result").get<std::string>();
        info.exitStatus = integer<int32_t>(doc.at("exit_status"));
        info.buildHash = doc.at("build_hash").get<std::string>();
        info.progress = doc.value("progress", -1.0);
        info.statusText = doc.value("status_text", std::string());
        record.deadlineUsec = integer<uint64_t>(doc.at("deadline_usec"));
        record.bootId = doc.value("boot_id", std::string());
        if (doc.contains("log_lines") && doc.contains("log_bytes"))
        {
            record.log = LogExtent{integer<uint64_t>(doc.at("log_lines")), integer<uint64_t>(doc.at("log_bytes"))};
        }
        return record;
    }
    catch (const Json::exception&)
    {
        return std::nullopt;
    }
    catch (const std::range_error&)
    {
        return std::nullopt;
    }
}

JobState stateForResult(std::string_view result)
{
    return result == "success" ? JobState::succeeded : JobState::failed;
}

} // namespace left4me
