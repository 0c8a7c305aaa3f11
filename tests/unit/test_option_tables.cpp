// The daemon's option tables are the XML's: each method's
// org.left4me.Builder.Options annotation lists the same keys with the same
// D-Bus types. (tests/client holds the clients to the same annotation.)
#include "builds/build_request.hpp"
#include "caps/caps_request.hpp"
#include "mounts/mount_request.hpp"
#include "servers/server_request.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace left4me;

namespace {

// METHOD's Options annotation from the XML, as a table.
OptionTable xmlTable(const std::string& method)
{
    std::ifstream in(LEFT4ME_API_XML);
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    auto xml = text.str();
    auto at = xml.find("<method name=\"" + method + "\">");
    REQUIRE(at != std::string::npos);
    const std::string marker = "name=\"org.left4me.Builder.Options\" value=\"";
    auto start = xml.find(marker, at);
    REQUIRE(start != std::string::npos);
    start += marker.size();
    REQUIRE(start < xml.find("</method>", at)); // this method's, not the next one's
    std::istringstream entries(xml.substr(start, xml.find('"', start) - start));
    OptionTable table;
    for (std::string entry; entries >> entry;)
    {
        auto equals = entry.find('=');
        REQUIRE(equals != std::string::npos);
        table[entry.substr(0, equals)] = entry.substr(equals + 1);
    }
    return table;
}

} // namespace

TEST_CASE("StartBuild's option table is the XML's")
{
    CHECK(buildOptionTable() == xmlTable("StartBuild"));
}

TEST_CASE("Mount's option table is the XML's")
{
    CHECK(mountOptionTable() == xmlTable("Mount"));
}

TEST_CASE("ApplyCaps's option table is the XML's")
{
    CHECK(capsOptionTable() == xmlTable("ApplyCaps"));
}

TEST_CASE("EnableServer's and DisableServer's option table is the XML's")
{
    CHECK(serverOptionTable() == xmlTable("EnableServer"));
    CHECK(serverOptionTable() == xmlTable("DisableServer"));
}
