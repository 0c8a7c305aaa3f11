#include "systemd/unit_names.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>

using namespace left4me;

TEST_CASE("a build runs in an instance of the shipped template named after the job")
{
    CHECK(unit::buildUnitName(42) == "left4me-build@42.service");
}

TEST_CASE("unit object paths are escaped as systemd does")
{
    CHECK(unit::objectPath("left4me-build@42.service") ==
          "/org/freedesktop/systemd1/unit/left4me_2dbuild_4042_2eservice");
    CHECK(unit::objectPath("dbus.service") == "/org/freedesktop/systemd1/unit/dbus_2eservice");
    CHECK(unit::objectPath("1.mount") == "/org/freedesktop/systemd1/unit/_31_2emount");
}

TEST_CASE("the exit status is the code, or 128 plus the signal, or -1 when nothing ran")
{
    CHECK(unit::exitStatus(CLD_EXITED, 3) == 3);
    CHECK(unit::exitStatus(CLD_KILLED, 9) == 137);
    CHECK(unit::exitStatus(CLD_DUMPED, 11) == 139);
    CHECK(unit::exitStatus(0, 0) == -1);
}
