#include "mounts/overlay_spec.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("a layer is located beneath the root it lies in, segment by segment")
{
    std::vector<std::string> roots = {"/var/lib/left4me/installation", "/var/lib/left4me/overlays"};
    auto loc = overlay::locateLayer("/var/lib/left4me/overlays/maps/v2", roots);
    REQUIRE(loc);
    CHECK(loc->root == "/var/lib/left4me/overlays");
    CHECK(loc->relative == "maps/v2");
    CHECK_FALSE(overlay::locateLayer("/var/lib/left4me/overlays2/x", roots));
    CHECK_FALSE(overlay::locateLayer("/var/lib/left4me/overlays", roots));
    CHECK_FALSE(overlay::locateLayer("/etc", roots));
}

TEST_CASE("overlay options list the lowers topmost first and always force nosuid and nodev")
{
    CHECK(overlay::options({{"/l/0", "/l/1"}, "/i/upper", "/i/work"}) ==
          "lowerdir=/l/0:/l/1,upperdir=/i/upper,workdir=/i/work,nosuid,nodev");
    CHECK(overlay::options({{"/l/0", "/l/1"}, "", ""}) == "lowerdir=/l/0:/l/1,nosuid,nodev");
}

TEST_CASE("mount unit names are escaped as systemd-escape --path does")
{
    CHECK(overlay::mountUnitName("/var/lib/left4me/runtime/srv1/merged") ==
          "var-lib-left4me-runtime-srv1-merged.mount");
    CHECK(overlay::mountUnitName("/var/lib/left4me/runtime/my-server.2/merged") ==
          "var-lib-left4me-runtime-my\\x2dserver.2-merged.mount");
    CHECK(overlay::mountUnitName("/run/a_b:c/") == "run-a_b:c.mount");
    CHECK(overlay::mountUnitName("/x/.hidden") == "x-.hidden.mount");
    CHECK(overlay::mountUnitName("/.hidden") == "\\x2ehidden.mount");
}
