#include "caps/caps_intent.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace left4me;

TEST_CASE("an ApplyCaps intent reads back as written, binary xattr included")
{
    // A real v3 capability xattr has NUL and high bytes.
    std::string xattr("\x00\x00\x00\x03\x00\x20\x00\x00\xff\x7f", 10);
    CapsIntent intent{"sourcemod", "1.12", "bin/srcds_linux", 2049, 131073, xattr, "versions/1.11"};
    auto back = capsIntentFromJson(toJson(intent));
    REQUIRE(back);
    CHECK(*back == intent);

    // A symlink's target may be any bytes: JSON alone could not hold it.
    CapsIntent odd{"a", "1", "b", 1, 2, std::nullopt, std::string("versions/\xff\x01", 11)};
    auto oddBack = capsIntentFromJson(toJson(odd));
    REQUIRE(oddBack);
    CHECK(*oddBack == odd);

    CapsIntent bare{"a", "1", "b", 1, 2, std::nullopt, std::nullopt};
    auto bareBack = capsIntentFromJson(toJson(bare));
    REQUIRE(bareBack);
    CHECK(*bareBack == bare);
}

TEST_CASE("an ApplyCaps intent that names a path ApplyCaps would refuse is not read")
{
    CapsIntent intent{"sourcemod", "1.12", "bin/x", 1, 2, std::nullopt, std::nullopt};
    auto text = toJson(intent);
    auto with = [&](const std::string& from, const std::string& to) {
        auto changed = text;
        changed.replace(changed.find(from), from.size(), to);
        return capsIntentFromJson(changed);
    };
    CHECK_FALSE(with("\"sourcemod\"", "\"../etc\""));
    CHECK_FALSE(with("\"1.12\"", "\"a/b\""));
    CHECK_FALSE(with("\"bin/x\"", "\"/usr/bin/ping\""));
    CHECK_FALSE(with("\"bin/x\"", "\"../../x\""));
    CHECK_FALSE(with("\"inode\": 2", "\"inode\": -2"));
    CHECK_FALSE(with("\"inode\": 2", "\"inode\": 2.5"));
    CHECK_FALSE(with("\"old_xattr\": null", "\"old_xattr\": \"abc\""));
    CHECK_FALSE(with("\"old_xattr\": null", "\"old_xattr\": \"zz\""));
    CHECK_FALSE(with("\"old_current_hex\": null", "\"old_current_hex\": \"7\""));
    CHECK_FALSE(capsIntentFromJson("{"));
    CHECK_FALSE(capsIntentFromJson("[]"));
}
