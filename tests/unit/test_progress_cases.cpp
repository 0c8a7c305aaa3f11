#include "builds/progress.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace left4me;

// The table the Python client's parse_progress is tested against too, so
// that a client parsing marker lines as they pass agrees with the Progress
// and StatusText properties.
TEST_CASE("the daemon parses every progress line of the shared table as the table says")
{
    std::ifstream file(LEFT4ME_PROGRESS_CASES);
    REQUIRE(file);
    auto table = nlohmann::json::parse(file);
    REQUIRE(table["cases"].size() >= 40);
    for (const auto& row : table["cases"])
    {
        auto line = row[0].get<std::string>();
        CAPTURE(line);
        auto report = parseProgressLine(line);
        if (row[1].is_null())
        {
            CHECK_FALSE(report);
            continue;
        }
        REQUIRE(report);
        CHECK(report->progress == doctest::Approx(row[1].get<double>()).epsilon(1e-12));
        CHECK(report->status == row[2].get<std::string>());
    }
}
