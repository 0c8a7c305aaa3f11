// EnableServer's and DisableServer's arguments: a configured template and
// an instance name that systemd never needs to escape.
#include "ops/op_error.hpp"
#include "servers/server_request.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace left4me;

namespace {

const std::vector<std::string> templates = {"left4me-server@.service", "game@.service"};

std::string refusal(const std::string& templateName, const std::string& instance,
                    const std::vector<std::string>& configured = templates)
{
    try
    {
        serverRequest(1000, templateName, instance, {}, configured);
    }
    catch (const OpError& e)
    {
        CHECK(e.kind() == ErrorKind::invalidArgument);
        return e.message();
    }
    FAIL("accepted: " << templateName << " " << instance);
    return "";
}

} // namespace

TEST_CASE("a server request names the instance's unit, of the first template unless told")
{
    auto request = serverRequest(1000, "", "1", {{"now", true}}, templates);
    CHECK(request.templateName == "left4me-server@.service");
    CHECK(request.unit == "left4me-server@1.service");
    CHECK(request.now);
    request = serverRequest(1000, "game@.service", "eu-2.a_b", {}, templates);
    CHECK(request.unit == "game@eu-2.a_b.service");
    CHECK_FALSE(request.now);
    CHECK(request.caller == 1000);
}

TEST_CASE("only a configured template is accepted")
{
    for (const char* other : {"ssh.service", "left4me-build@.service", "left4me-builderd.service",
                              "left4me-server-admin@.service", "left4me-server@", "LEFT4ME-SERVER@.service"})
    {
        CAPTURE(other);
        CHECK(refusal(other, "1").find("Argument template: ") == 0);
    }
    CHECK(refusal("ssh.service", "1").find("server_templates: left4me-server@.service, game@.service") !=
          std::string::npos);
    CHECK(refusal("", "1", {}).find("server_templates in /etc/left4me/builder.json is empty") != std::string::npos);
}

TEST_CASE("an instance name that systemd would escape, or that spells a path, is refused")
{
    for (const char* bad :
         {"", ".", "..", "a/b", "../x", "a\\x2fb", "-x", "_x", "x:y", "x y", "x@y", "x%i", "é", "x\n"})
    {
        CAPTURE(bad);
        CHECK(refusal("", bad).find("Argument instance: ") == 0);
    }
    CHECK(refusal("", std::string(65, 'x')).find("Argument instance: ") == 0);
    CHECK(serverRequest(1000, "", std::string(64, 'x'), {}, templates).instance.size() == 64);
}
