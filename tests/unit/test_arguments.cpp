#include "validate/arguments.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("an overlay name is one safe path segment")
{
    CHECK_FALSE(validate::overlayName("base"));
    CHECK_FALSE(validate::overlayName("l4d2_maps-1.2"));
    CHECK_FALSE(validate::overlayName(std::string(64, 'a')));
    CHECK(validate::overlayName(""));
    CHECK(validate::overlayName("."));
    CHECK(validate::overlayName(".."));
    CHECK(validate::overlayName("../etc"));
    CHECK(validate::overlayName("a/b"));
    CHECK(validate::overlayName(".hidden"));
    CHECK(validate::overlayName("-rf"));
    CHECK(validate::overlayName("a+b"));
    CHECK(validate::overlayName("a b"));
    CHECK(validate::overlayName("a\nb"));
    CHECK(validate::overlayName(std::string(65, 'a')));
    CHECK(validate::overlayName(std::string("a\0b", 3)));
}

TEST_CASE("a refused name is quoted with control characters escaped and long input cut")
{
    auto problem = validate::overlayName("a\nb");
    REQUIRE(problem);
    CHECK(problem->find("\"a\\x0ab\"") != std::string::npos);
    CHECK(problem->find("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}") != std::string::npos);
    auto longProblem = validate::overlayName(std::string(4096, 'x'));
    REQUIRE(longProblem);
    CHECK(longProblem->size() < 200);
}

TEST_CASE("add-on segments also allow a plus sign")
{
    CHECK_FALSE(validate::addonSegment("1.0+build3"));
    CHECK(validate::overlayName("1.0+build3"));
}

TEST_CASE("a script is at most 1 MiB of bash without NUL bytes")
{
    CHECK_FALSE(validate::script(""));
    CHECK_FALSE(validate::script("echo hi\n"));
    CHECK_FALSE(validate::script(std::string(validate::maxScriptBytes, 'x')));
    auto tooBig = validate::script(std::string(validate::maxScriptBytes + 1, 'x'));
    REQUIRE(tooBig);
    CHECK(tooBig->find("1 MiB") != std::string::npos);
    CHECK(validate::script(std::string("echo\0hi", 7)));
}

TEST_CASE("an absolute directory path is normalized and safe in a mount option string")
{
    CHECK_FALSE(validate::absoluteDirectoryPath("/var/lib/left4me/overlays"));
    CHECK(validate::absoluteDirectoryPath("var/lib"));
    CHECK(validate::absoluteDirectoryPath("/"));
    CHECK(validate::absoluteDirectoryPath("/var/lib/"));
    CHECK(validate::absoluteDirectoryPath("/var//lib"));
    CHECK(validate::absoluteDirectoryPath("/var/./lib"));
    CHECK(validate::absoluteDirectoryPath("/var/../etc"));
    for (const char* bad : {"/a,b", "/a:b", "/a\\b", "/a=b", "/a\nb", "/a\tb", "/a\"b"})
    {
        CAPTURE(bad);
        CHECK(validate::absoluteDirectoryPath(bad));
    }
}

TEST_CASE("a binary path is 1 to 8 relative add-on segments")
{
    CHECK_FALSE(validate::relativeBinaryPath("probe"));
    CHECK_FALSE(validate::relativeBinaryPath("bin/x86_64/probe"));
    CHECK_FALSE(validate::relativeBinaryPath("a/b/c/d/e/f/g/h"));
    CHECK(validate::relativeBinaryPath("a/b/c/d/e/f/g/h/i"));
    CHECK(validate::relativeBinaryPath("/usr/bin/ping"));
    CHECK(validate::relativeBinaryPath("bin/../../x"));
    CHECK(validate::relativeBinaryPath("bin//probe"));
    CHECK(validate::relativeBinaryPath(""));
}

TEST_CASE("layers are 1 to 64 safe absolute paths, and the bad one is named by index")
{
    CHECK_FALSE(validate::layers({"/var/lib/left4me/installation"}));
    CHECK(validate::layers({}));
    CHECK(validate::layers(std::vector<std::string>(65, "/a")));
    auto problem = validate::layers({"/ok", "/not,ok"});
    REQUIRE(problem);
    CHECK(problem->rfind("[1]", 0) == 0);
}

TEST_CASE("capability names are normalized case-insensitively with an optional cap_ prefix")
{
    CHECK(validate::normalizeCapabilityName("CAP_BPF") == "cap_bpf");
    CHECK(validate::normalizeCapabilityName("net_raw") == "cap_net_raw");
    CHECK(validate::normalizeCapabilityName("cap_net_bind_service") == "cap_net_bind_service");
    CHECK_FALSE(validate::normalizeCapabilityName("cap_"));
    CHECK_FALSE(validate::normalizeCapabilityName("cap_net raw"));
    CHECK_FALSE(validate::normalizeCapabilityName("=ep"));
}

TEST_CASE("options: unknown keys and wrong types are errors that name the key")
{
    CHECK_FALSE(validate::options({}, {}));
    CHECK_FALSE(validate::options({{"read_only", "b"}}, {{"read_only", "b"}, {"persistent", "b"}}));
    auto unknown = validate::options({{"readonly", "b"}}, {{"read_only", "b"}});
    REQUIRE(unknown);
    CHECK(unknown->find("\"readonly\"") != std::string::npos);
    CHECK(unknown->find("read_only") != std::string::npos);
    auto wrongType = validate::options({{"read_only", "s"}}, {{"read_only", "b"}});
    REQUIRE(wrongType);
    CHECK(wrongType->find("'b'") != std::string::npos);
    auto none = validate::options({{"x", "b"}}, {});
    REQUIRE(none);
    CHECK(none->find("accepts no options") != std::string::npos);
}

TEST_CASE("user names follow sysusers.d rules")
{
    CHECK_FALSE(validate::userName("left4me-sandbox"));
    CHECK(validate::userName("Root"));
    CHECK(validate::userName("a:b"));
    CHECK(validate::userName(""));
}
