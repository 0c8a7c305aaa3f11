#include "builds/cgroup_controllers.hpp"

#include <doctest/doctest.h>

using namespace left4me;

TEST_CASE("a host whose unified hierarchy has memory, pids and cpu can enforce build limits")
{
    CHECK(missingControllers("cpuset cpu io memory hugetlb pids rdma misc\n").empty());
}

TEST_CASE("missing controllers are named, in a fixed order")
{
    CHECK(missingControllers("cpuset io\n") == std::vector<std::string>{"memory", "pids", "cpu"});
    CHECK(missingControllers("cpu memory") == std::vector<std::string>{"pids"});
    CHECK(missingControllers("") == std::vector<std::string>{"memory", "pids", "cpu"});
    CHECK(missingControllers("cpuset") == std::vector<std::string>{"memory", "pids", "cpu"}); // not "cpu"
}
