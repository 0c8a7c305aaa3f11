#include "builds/job_record.hpp"

#include "util/json_record.hpp"

namespace left4me {

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
    nlohmann::json doc = {
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
        {"deadline_usec", info.deadline},
        {"timeout_warned", info.timeoutWarned},
        {"boot_id", record.bootId},
    };
    if (record.log)
    {
        doc["log_lines"] = record.log->lines;
        doc["log_bytes"] = record.log->bytes;
    }
    return recordText(doc);
}

std::optional<JobRecord> parseJobRecord(std::string_view text)
{
    return readRecord(text, [](const RecordReader& r) {
        JobRecord record;
        auto& info = record.info;
        info.id = r.integer<uint64_t>("id");
        info.overlay = r.string("overlay");
        info.unit = r.string("unit");
        info.owner = r.integer<uid_t>("owner");
        info.createdAt = r.integer<uint64_t>("created_at");
        info.finishedAt = r.integer<uint64_t>("finished_at");
        auto state = jobStateFromString(r.string("state"));
        if (!state)
        {
            throw RecordError("unknown state");
        }
        info.state = *state;
        info.result = r.string("result");
        info.exitStatus = r.integer<int32_t>("exit_status");
        info.buildHash = r.string("build_hash");
        info.deadline = r.integer<uint64_t>("deadline_usec");
        // Fields later versions added: absent from older records.
        info.progress = r.has("progress") ? r.number("progress") : -1.0;
        info.statusText = r.has("status_text") ? r.string("status_text") : std::string();
        info.timeoutWarned = r.has("timeout_warned") && r.boolean("timeout_warned");
        record.bootId = r.has("boot_id") ? r.string("boot_id") : std::string();
        if (r.has("log_lines") && r.has("log_bytes"))
        {
            record.log = LogExtent{r.integer<uint64_t>("log_lines"), r.integer<uint64_t>("log_bytes")};
        }
        return record;
    });
}

} // namespace left4me
