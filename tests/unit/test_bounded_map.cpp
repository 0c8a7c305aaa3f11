#include "util/bounded_map.hpp"

#include <doctest/doctest.h>

#include <string>

using left4me::BoundedMap;

TEST_CASE("BoundedMap finds what was put and takes it out once")
{
    BoundedMap<int> map(4);
    map.put("a", 1);
    REQUIRE(map.find("a") != nullptr);
    CHECK(*map.find("a") == 1);
    CHECK(map.find("b") == nullptr);
    CHECK(map.take("a") == 1);
    CHECK(map.take("a") == std::nullopt);
    CHECK(map.size() == 0);
}

TEST_CASE("BoundedMap forgets the entry put longest ago, whatever the keys' sort order")
{
    // systemd's job paths: "/job/10000" sorts before "/job/9999". The map
    // that kept systemd's job results evicted by sort order, so past a
    // digit boundary it forgot the newest job first.
    BoundedMap<std::string> jobs(3);
    for (const auto* path : {"/job/9998", "/job/9999", "/job/10000", "/job/10001"})
    {
        jobs.put(path, "done");
    }
    CHECK(jobs.size() == 3);
    CHECK(jobs.find("/job/9998") == nullptr);
    CHECK(jobs.find("/job/9999") != nullptr);
    CHECK(jobs.find("/job/10000") != nullptr);
    CHECK(jobs.find("/job/10001") != nullptr);
    jobs.put("/job/10002", "failed");
    CHECK(jobs.find("/job/9999") == nullptr);
    CHECK(jobs.take("/job/10002") == "failed");
}

TEST_CASE("BoundedMap: putting a key again replaces its value and makes it the newest")
{
    BoundedMap<int> map(2);
    map.put("a", 1);
    map.put("b", 2);
    map.put("a", 3);
    CHECK(map.size() == 2);
    map.put("c", 4); // forgets b, the oldest now
    CHECK(map.find("b") == nullptr);
    REQUIRE(map.find("a") != nullptr);
    CHECK(*map.find("a") == 3);
    CHECK(*map.find("c") == 4);
}

TEST_CASE("BoundedMap: a taken entry frees its room and never comes back by eviction")
{
    BoundedMap<int> map(2);
    map.put("1", 10);
    map.put("2", 20);
    CHECK(map.take("1") == 10);
    map.put("3", 30);
    CHECK(map.size() == 2);
    CHECK(map.find("2") != nullptr);
    CHECK(map.find("3") != nullptr);
    map.put("1", 11); // evicts 2, not the re-put 1
    CHECK(map.find("2") == nullptr);
    CHECK(*map.find("1") == 11);
}

TEST_CASE("BoundedMap: keys too long for the small-string buffer stay findable as entries come and go")
{
    // The index views each key where its list node holds it; long keys
    // live on the heap, short ones inside the node.
    BoundedMap<int> map(8);
    std::string prefix(100, 'k');
    for (int i = 0; i < 50; ++i)
    {
        map.put(prefix + std::to_string(i), i);
        map.put(std::to_string(i), i);
    }
    CHECK(map.size() == 8);
    for (int i = 46; i < 50; ++i)
    {
        REQUIRE(map.find(prefix + std::to_string(i)) != nullptr);
        CHECK(*map.find(prefix + std::to_string(i)) == i);
        CHECK(map.take(std::to_string(i)) == i);
    }
    CHECK(map.find(prefix + "45") == nullptr);
}

TEST_CASE("BoundedMap of capacity 0 keeps nothing")
{
    BoundedMap<int> map(0);
    map.put("1", 1);
    CHECK(map.size() == 0);
    CHECK(map.find("1") == nullptr);
}
