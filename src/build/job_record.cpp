#include "build/job_record.hpp"

#include <nlohmann/json.hpp>

namespace left4me {

using Json = nlohmann::json;

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
    };
    return doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

std::optional<JobRecord> parseJobRecord(std::string_view text)
{
    try
    {
        auto doc = Json::parse(text);
        JobRecord record;
        auto& info = record.info;
        info.id = doc.at("id").get<uint64_t>();
        info.overlay = doc.at("overlay").get<std::string>();
        info.unit = doc.at("unit").get<std::string>();
        info.owner = doc.at("owner").get<uid_t>();
        info.createdAt = doc.at("created_at").get<uint64_t>();
        info.finishedAt = doc.at("finished_at").get<uint64_t>();
        auto state = jobStateFromString(doc.at("state").get<std::string>());
        if (!state)
        {
            return std::nullopt;
        }
        info.state = *state;
        info.result = doc.at("result").get<std::string>();
        info.exitStatus = doc.at("exit_status").get<int32_t>();
        info.buildHash = doc.at("build_hash").get<std::string>();
        info.progress = doc.value("progress", -1.0);
        info.statusText = doc.value("status_text", std::string());
        record.deadlineUsec = doc.at("deadline_usec").get<uint64_t>();
        return record;
    }
    catch (const Json::exception&)
    {
        return std::nullopt;
    }
}

JobState stateForResult(std::string_view result)
{
    return result == "success" ? JobState::succeeded : JobState::failed;
}

} // namespace left4me
