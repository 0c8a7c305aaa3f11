#include "systemd/unit_text.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("a unit file setting keeps its specifier characters literal")
{
    CHECK(unit::settingValue("/var/lib/left4me/installation/%E") == "/var/lib/left4me/installation/%%E");
    CHECK(unit::settingValue("lowerdir=/a %n:/b,nosuid") == "lowerdir=/a %%n:/b,nosuid");
    CHECK(unit::settingValue("") == "");
    CHECK_THROWS_AS(unit::settingValue("a\nPermissionsStartOnly=yes"), unit::UnwritableValue);
    CHECK_THROWS_AS(unit::settingValue("tab\there"), unit::UnwritableValue);
    CHECK_THROWS_AS(unit::settingValue("/trailing "), unit::UnwritableValue);
}

TEST_CASE("a word of a list setting is quoted so that blanks and quotes stay inside it")
{
    CHECK(unit::listWord("/a b") == "\"/a b\"");
    CHECK(unit::listWord("/it's \"q\" %E\\") == "\"/it's \\\"q\\\" %%E\\\\\"");
    CHECK_THROWS_AS(unit::listWord("/a\n/b"), unit::UnwritableValue);
}
