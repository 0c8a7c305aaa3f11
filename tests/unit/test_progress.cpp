#include "builds/progress.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("a progress marker line gives a fraction and a status text")
{
    auto report = parseProgressLine("::left4me-progress:: 42 Downloading maps");
    REQUIRE(report);
    CHECK(report->progress == doctest::Approx(0.42));
    CHECK(report->status == "Downloading maps");
    auto whole = parseProgressLine("::left4me-progress:: 100");
    REQUIRE(whole);
    CHECK(whole->progress == doctest::Approx(1.0));
    CHECK(whole->status.empty());
    auto fraction = parseProgressLine("::left4me-progress:: 12.5 x");
    REQUIRE(fraction);
    CHECK(fraction->progress == doctest::Approx(0.125));
}

TEST_CASE("a dash means progress unknown, with a status text")
{
    auto report = parseProgressLine("::left4me-progress:: - Waiting for the mirror");
    REQUIRE(report);
    CHECK(report->progress == -1.0);
    CHECK(report->status == "Waiting for the mirror");
}

TEST_CASE("anything else is an ordinary log line")
{
    CHECK_FALSE(parseProgressLine("42 Downloading"));
    CHECK_FALSE(parseProgressLine("::left4me-progress:: 101 too much"));
    CHECK_FALSE(parseProgressLine("::left4me-progress:: -5 negative"));
    CHECK_FALSE(parseProgressLine("::left4me-progress:: nan x"));
    CHECK_FALSE(parseProgressLine("::left4me-progress:: 4x2 junk"));
    CHECK_FALSE(parseProgressLine(" ::left4me-progress:: 5"));
}
