#include "fs/file_write.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

using namespace left4me;
namespace fs = std::filesystem;

namespace {
std::string contents(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}
} // namespace

TEST_CASE("replaceFile swaps in the new content with exactly the mode, leaving no temporary file")
{
    std::string pattern = (fs::temp_directory_path() / "left4me-write-XXXXXX").string();
    std::string dir = ::mkdtemp(pattern.data());
    auto path = dir + "/record";
    replaceFile(path, "one\n", 0600);
    std::ofstream(path + ".tmp") << "left by a crash";
    replaceFile(path, "two\n", 0640);
    CHECK(contents(path) == "two\n");
    CHECK_FALSE(fs::exists(path + ".tmp"));
    struct stat st
    {
    };
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    // writeNewFile never overwrites.
    CHECK_THROWS_AS(writeNewFile(path, "three\n", 0600), std::system_error);
    CHECK(contents(path) == "two\n");
    fs::remove_all(dir);
}

TEST_CASE("readJsonFiles gives each *.json file with its content, in name order, and nothing for no directory")
{
    std::string pattern = (fs::temp_directory_path() / "left4me-read-XXXXXX").string();
    std::string dir = ::mkdtemp(pattern.data());
    replaceFile(dir + "/b.json", "{\"b\": 1}\n", 0600);
    replaceFile(dir + "/a.json", "{}", 0600);
    std::ofstream(dir + "/a.json.tmp") << "a crash's leftover";
    std::ofstream(dir + "/notes") << "not a record";
    auto files = readJsonFiles(dir);
    REQUIRE(files.size() == 2);
    CHECK(files[0].first == fs::path(dir) / "a.json");
    CHECK(files[0].second == "{}");
    CHECK(files[1].second == "{\"b\": 1}\n");
    fs::remove_all(dir);
    CHECK(readJsonFiles(dir).empty());
}
