#include "builds/unit_properties.hpp"
#include "net/host_networks.hpp"
#include "net/ip_prefix.hpp"

#include <doctest/doctest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

using namespace left4me;
using net::IpPrefix;

namespace {

IpPrefix p(const char* text)
{
    auto prefix = net::parsePrefix(text);
    REQUIRE(prefix.has_value());
    return *prefix;
}

std::vector<std::string> strings(const std::vector<IpPrefix>& prefixes)
{
    std::vector<std::string> out;
    for (const auto& prefix : prefixes)
    {
        out.push_back(net::toString(prefix));
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool covers(const std::vector<IpPrefix>& list, const char* address)
{
    auto host = p(address);
    return std::any_of(list.begin(), list.end(), [&](const IpPrefix& range) { return range.contains(host); });
}

} // namespace

TEST_CASE("prefixes parse, normalize and print as systemd writes them")
{
    CHECK(net::toString(p("192.0.2.77/24")) == "192.0.2.0/24");
    CHECK(net::toString(p("2001:db8::1/32")) == "2001:db8::/32");
    CHECK(net::toString(p("1.1.1.77")) == "1.1.1.77/32");
    CHECK(net::toString(p("::1")) == "::1/128");
    CHECK_FALSE(net::parsePrefix("1.2.3.4/33"));
    CHECK_FALSE(net::parsePrefix("1.2.3.4/"));
    CHECK_FALSE(net::parsePrefix("nonsense/8"));
    CHECK(p("10.0.0.0/8").contains(p("10.9.9.9")));
    CHECK_FALSE(p("10.0.0.0/8").contains(p("11.0.0.1")));
    CHECK_FALSE(p("0.0.0.0/0").contains(p("::1")));
}

TEST_CASE("subtracting a host from a range leaves every other address of it, and only those")
{
    auto rest = net::subtract({p("1.0.0.0/8")}, {p("1.1.1.77")});
    CHECK(rest.size() == 24); // one prefix per bit from /8 to /32
    CHECK_FALSE(covers(rest, "1.1.1.77"));
    for (const char* other : {"1.1.1.76", "1.1.1.78", "1.0.0.0", "1.255.255.255", "1.1.0.1"})
    {
        CHECK(covers(rest, other));
    }
    // Disjoint and covering holes.
    CHECK(strings(net::subtract({p("1.0.0.0/8")}, {p("2.0.0.0/8")})) == std::vector<std::string>{"1.0.0.0/8"});
    CHECK(net::subtract({p("1.2.3.0/24")}, {p("1.0.0.0/8")}).empty());
    // Families never mix.
    CHECK(strings(net::subtract({p("2000::/3")}, {p("1.1.1.77")})) == std::vector<std::string>{"2000::/3"});
    auto v6 = net::subtract({p("2000::/3")}, {p("2001:4860:4860::77/64")});
    CHECK_FALSE(covers(v6, "2001:4860:4860::1"));
    CHECK(covers(v6, "2620:fe::fe"));
}

TEST_CASE("public egress clears the template's list, then allows it less the host's networks")
{
    auto properties = publicEgress({p("1.0.0.0/8"), p("9.0.0.0/8"), p("2000::/3")},
                                   {p("1.1.1.77"), p("127.0.0.1/8"), p("2001:4860::77/64")});
    REQUIRE(properties.size() == 2);
    CHECK(properties[0].name == "IPAddressAllow");
    CHECK(std::get<AddressList>(properties[0].value).prefixes.empty());
    CHECK(properties[1].name == "IPAddressAllow");
    const auto& allowed = std::get<AddressList>(properties[1].value).prefixes;
    CHECK_FALSE(covers(allowed, "1.1.1.77"));
    CHECK_FALSE(covers(allowed, "2001:4860::5"));
    CHECK(covers(allowed, "1.1.1.1"));
    CHECK(covers(allowed, "9.9.9.9"));
    CHECK(covers(allowed, "2620:fe::fe"));
    CHECK_FALSE(covers(allowed, "127.0.0.1"));
}

TEST_CASE("an rtnetlink address dump yields each address and its subnet")
{
    std::vector<unsigned char> dump;
    auto add = [&](int family, const void* address, std::size_t size, unsigned prefixLength, bool peer) {
        std::size_t attributes = 2 * RTA_SPACE(size);
        std::size_t length = NLMSG_LENGTH(sizeof(ifaddrmsg) + attributes);
        std::vector<unsigned char> message(NLMSG_ALIGN(length));
        auto* header = reinterpret_cast<nlmsghdr*>(message.data());
        header->nlmsg_len = static_cast<uint32_t>(length);
        header->nlmsg_type = RTM_NEWADDR;
        auto* body = static_cast<ifaddrmsg*>(NLMSG_DATA(header));
        body->ifa_family = static_cast<uint8_t>(family);
        body->ifa_prefixlen = static_cast<uint8_t>(prefixLength);
        auto* attribute = IFA_RTA(body);
        for (auto type : {IFA_ADDRESS, IFA_LOCAL})
        {
            attribute->rta_type = static_cast<uint16_t>(type);
            attribute->rta_len = static_cast<uint16_t>(RTA_LENGTH(size));
            std::memcpy(RTA_DATA(attribute), address, size);
            if (peer && type == IFA_ADDRESS)
            {
                static_cast<unsigned char*>(RTA_DATA(attribute))[size - 1] ^= 1U; // the peer's
            }
            attribute = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(attribute) + RTA_SPACE(size));
        }
        dump.insert(dump.end(), message.begin(), message.end());
    };
    auto v4 = p("203.0.113.5/24").bytes;
    v4[3] = 5;
    add(AF_INET, v4.data(), 4, 24, false);
    auto v6 = p("2001:db8:1::7").bytes;
    add(AF_INET6, v6.data(), 16, 64, true);
    nlmsghdr end{};
    end.nlmsg_len = NLMSG_LENGTH(0);
    end.nlmsg_type = NLMSG_DONE;
    auto* raw = reinterpret_cast<unsigned char*>(&end);
    dump.insert(dump.end(), raw, raw + sizeof(end));

    bool done = false;
    auto networks = net::parseAddressDump(dump.data(), dump.size(), done);
    CHECK(done);
    auto text = strings(networks);
    for (const char* expected :
         {"203.0.113.0/24", "203.0.113.5/32", "2001:db8:1::/64", "2001:db8:1::7/128", "2001:db8:1::6/128"})
    {
        CHECK(std::find(text.begin(), text.end(), expected) != text.end());
    }
}
