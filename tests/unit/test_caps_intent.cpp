#include "caps/caps_intent.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace left4me;

TEST_CASE("an ApplyCaps intent reads back as written, binary xattr included")
{
    // A real v3 capability xattr has NUL and high bytes.
    std::string xattr("\x00\x00\x00\x03\x00\x20\x00\x00\xff\x7f", 10);
    CapsIntent intent{"sourcemod",
                      "1.12",
                      "bin/srcds_linux",
                      2049,
                      131073,
                      xattr,
                      "versions/1.11",
                      true,
                      ".srcds_linux.left4me-caps.7.0"};
    auto back = capsIntentFromJson(toJson(intent));
    REQUIRE(back);
    CHECK(*back == intent);

    // A symlink's target may be any bytes: JSON alone could not hold it.
    CapsIntent odd{"a", "1", "b", 1, 2, std::nullopt, std::string("versions/\xff\x01", 11), true, ""};
    auto oddBack = capsIntentFromJson(toJson(odd));
    REQUIRE(oddBack);
    CHECK(*oddBack == odd);

    CapsIntent bare{"a", "1", "b", 1, 2, std::nullopt, std::nullopt, false, ".b.left4me-caps.1.2"};
    auto bareBack = capsIntentFromJson(toJson(bare));
    REQUIRE(bareBack);
    CHECK(*bareBack == bare);
}

TEST_CASE("an intent of an older release reads as an activation made in place")
{
    auto back = capsIntentFromJson(R"({"addon": "a", "version": "1", "binary": "bin/x", "device": 1, "inode": 2,
                                       "old_xattr": null, "old_current_hex": null})");
    REQUIRE(back);
    CHECK(back->activate);
    CHECK(back->tmpName.empty());
}

TEST_CASE("an ApplyCaps intent that names a path ApplyCaps would refuse is not read")
{
    CapsIntent intent{"sourcemod", "1.12", "bin/x", 1, 2, std::nullopt, std::nullopt, true, ".x.left4me-caps.1.2"};
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
    // The temporary name recover() unlinks: only a copy's, beside the binary.
    CHECK_FALSE(with("\".x.left4me-caps.1.2\"", "\"../../../etc/passwd\""));
    CHECK_FALSE(with("\".x.left4me-caps.1.2\"", "\"x\""));
    CHECK_FALSE(with("\"activate\": true", "\"activate\": 1"));
    CHECK_FALSE(capsIntentFromJson("{"));
    CHECK_FALSE(capsIntentFromJson("[]"));
}
