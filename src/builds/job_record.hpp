#pragma once

// What the daemon keeps on disk about each job, so that a restarted daemon
// (after a crash, an idle exit or kill -9) can republish ended jobs and adopt
// running ones: jobs/<id>/job.json, written when the job is created, when it
// starts running and when it ends. Pure, so that the format is unit-tested.
#include "builds/build_job.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace left4me {

struct JobRecord
{
    JobInfo info; // its deadline and timeoutWarned included
    // The boot the record was written in (BuildService::bootId): a running
    // job recorded in another boot was cut short by the reboot. Empty in
    // records of older versions.
    std::string bootId;
    // An ended job's log as delivered, so that a restarting daemon need not
    // read it to count its lines. Absent while the job runs, and in records
    // of older versions.
    std::optional<LogExtent> log;
};

std::string serializeJobRecord(const JobRecord& record);
// Nothing for a malformed record: the job is then left alone, never guessed.
std::optional<JobRecord> parseJobRecord(std::string_view text);

std::optional<JobState> jobStateFromString(std::string_view name);
[[nodiscard]] bool isEnded(JobState state);

} // namespace left4me
