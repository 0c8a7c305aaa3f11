#include "caps/capability_list.hpp"

#include <doctest/doctest.h>

using namespace left4me;

namespace {
const std::vector<std::string> allowlist = {"cap_net_raw", "cap_net_admin", "cap_net_bind_service", "cap_bpf",
                                            "cap_perfmon"};
}

TEST_CASE("allowed capabilities are accepted in any case, with or without the cap_ prefix, once each")
{
    auto check = checkCapabilities({"CAP_NET_RAW", "bpf", "cap_bpf"}, allowlist);
    CHECK_FALSE(check.unknown);
    CHECK_FALSE(check.notAllowed);
    CHECK(check.names == std::vector<std::string>{"cap_net_raw", "cap_bpf"});
    CHECK(check.values == std::vector<cap_value_t>{CAP_NET_RAW, CAP_BPF});
}

TEST_CASE("a capability outside the allowlist fails closed and is named")
{
    auto check = checkCapabilities({"cap_net_raw", "CAP_SYS_ADMIN"}, allowlist);
    REQUIRE(check.notAllowed);
    CHECK(*check.notAllowed == "cap_sys_admin");
}

TEST_CASE("a name libcap does not know is reported as unknown, not as disallowed")
{
    CHECK(checkCapabilities({"cap_make_coffee"}, allowlist).unknown == "cap_make_coffee");
    CHECK(checkCapabilities({"cap net raw"}, allowlist).unknown);
}

TEST_CASE("an empty request is valid and means no capabilities")
{
    auto check = checkCapabilities({}, allowlist);
    CHECK_FALSE(check.unknown);
    CHECK_FALSE(check.notAllowed);
    CHECK(check.values.empty());
}

TEST_CASE("the journal shows capability sets the way getcap prints them")
{
    CHECK(capabilityText({"cap_net_raw", "cap_bpf"}) == "cap_net_raw,cap_bpf=ep");
    CHECK(capabilityText({}).empty());
}
