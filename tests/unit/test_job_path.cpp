#include "bus/job_object.hpp"

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
