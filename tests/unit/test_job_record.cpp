#include "builds/job_record.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("a job record survives a round trip through its file format")
{
    JobRecord record;
    record.info.id = 42;
    record.info.overlay = "ovl";
    record.info.unit = "left4me-build@42.service";
    record.info.owner = 1001;
    record.info.createdAt = 1700000000000000;
    record.info.state = JobState::running;
    record.info.buildHash = std::string(64, 'a');
    record.info.progress = 0.5;
    record.info.statusText = "half \xc3\xa4";
    record.info.deadline = 1700000003600000;
    record.info.timeoutWarned = true;
    record.bootId = "0f4c1d5e-8a77-4f34-9bb3-2c1b6a0e9d11";
    auto parsed = parseJobRecord(serializeJobRecord(record));
    REQUIRE(parsed);
    CHECK(parsed->info.id == 42);
    CHECK(parsed->info.overlay == "ovl");
    CHECK(parsed->info.unit == "left4me-build@42.service");
    CHECK(parsed->info.owner == 1001);
    CHECK(toString(parsed->info.state) == "running");
    CHECK(parsed->info.exitStatus == -1);
    CHECK(parsed->info.statusText == "half \xc3\xa4");
    CHECK(parsed->info.deadline == 1700000003600000);
    CHECK(parsed->info.timeoutWarned);
    CHECK(parsed->bootId == record.bootId);
    CHECK_FALSE(parsed->log);

    record.info.state = JobState::succeeded;
    record.log = LogExtent{1000000, 6888896};
    auto ended = parseJobRecord(serializeJobRecord(record));
    REQUIRE(ended);
    REQUIRE(ended->log);
    CHECK(ended->log->lines == 1000000);
    CHECK(ended->log->bytes == 6888896);
}

namespace {

// A record as an older version wrote it: without LINE, one of its lines.
std::string olderRecord(const std::string& line)
{
    JobRecord record;
    record.info.unit = "u";
    auto text = serializeJobRecord(record);
    auto at = text.find(line);
    REQUIRE(at != std::string::npos);
    return text.erase(at, line.size());
}

} // namespace

TEST_CASE("a job record of an older version, without a boot id, is read with none")
{
    auto parsed = parseJobRecord(olderRecord("  \"boot_id\": \"\",\n"));
    REQUIRE(parsed);
    CHECK(parsed->bootId.empty());
}

TEST_CASE("a job record of an older version, without timeout_warned, was not warned")
{
    auto parsed = parseJobRecord(olderRecord("  \"timeout_warned\": false,\n"));
    REQUIRE(parsed);
    CHECK_FALSE(parsed->info.timeoutWarned);
    // Present, it must be a boolean.
    JobRecord record;
    record.info.unit = "u";
    auto text = serializeJobRecord(record);
    std::string field = "\"timeout_warned\": false";
    auto at = text.find(field);
    REQUIRE(at != std::string::npos);
    CHECK_FALSE(parseJobRecord(text.replace(at, field.size(), "\"timeout_warned\": \"no\"")));
}

TEST_CASE("a damaged job record is refused, never guessed")
{
    CHECK_FALSE(parseJobRecord(""));
    CHECK_FALSE(parseJobRecord("{"));
    CHECK_FALSE(parseJobRecord(R"({"id": 1})"));
    JobRecord record;
    record.info.unit = "u";
    auto text = serializeJobRecord(record);
    auto at = text.find("starting");
    REQUIRE(at != std::string::npos);
    CHECK_FALSE(parseJobRecord(text.replace(at, 8, "sleeping")));
}

TEST_CASE("a job record's numbers are exact integers in range, or the record is refused")
{
    // Found by the records fuzz target: get<T>() converted any number, so
    // 1e300 was undefined behaviour, 1.5 became 1 and an owner of
    // 4294967296 became uid 0.
    JobRecord record;
    record.info.id = 7;
    record.info.owner = 1000;
    const auto text = serializeJobRecord(record);
    REQUIRE(parseJobRecord(text));
    auto with = [&](const std::string& field, const std::string& value) {
        auto at = text.find("\"" + field + "\": ");
        REQUIRE(at != std::string::npos);
        at += field.size() + 4;
        return std::string(text).replace(at, text.find_first_of(",\n", at) - at, value);
    };
    CHECK(parseJobRecord(with("owner", "4294967295"))->info.owner == 4294967295U);
    CHECK(parseJobRecord(with("exit_status", "-2147483648"))->info.exitStatus == INT32_MIN);
    CHECK_FALSE(parseJobRecord(with("owner", "4294967296")));
    CHECK_FALSE(parseJobRecord(with("owner", "-1")));
    CHECK_FALSE(parseJobRecord(with("id", "1.5")));
    CHECK_FALSE(parseJobRecord(with("id", "-1")));
    CHECK_FALSE(parseJobRecord(with("created_at", "1e300")));
    CHECK_FALSE(parseJobRecord(with("exit_status", "2147483648")));
    CHECK_FALSE(parseJobRecord(with("exit_status", "-1e10")));
    CHECK_FALSE(parseJobRecord(with("deadline_usec", "\"0\"")));
}
