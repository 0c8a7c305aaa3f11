#include "util/job_path.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("job object paths round-trip, and anything else is not a job")
{
    CHECK(jobPath(7) == "/org/left4me/Builder/job/7");
    CHECK(jobIdFromPath("/org/left4me/Builder/job/7") == 7U);
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder/job/"));
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder/job/07"));
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder/job/7/x"));
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder/job/-1"));
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder"));
    CHECK_FALSE(jobIdFromPath("/org/left4me/Builder/job/99999999999999999999999"));
}

TEST_CASE("a job reference is its path or its id, and nothing else")
{
    CHECK(jobIdFromReference("7") == 7U);
    CHECK(jobIdFromReference("/org/left4me/Builder/job/7") == 7U);
    CHECK_FALSE(jobIdFromReference(""));
    CHECK_FALSE(jobIdFromReference("07"));
    CHECK_FALSE(jobIdFromReference("7a"));
    CHECK_FALSE(jobIdFromReference("-7"));
    CHECK_FALSE(jobIdFromReference("/org/left4me/Builder/job/x"));
    CHECK_FALSE(jobIdFromReference("99999999999999999999999"));
}
