#include "builds/log_file.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace left4me;

namespace {

struct TempLog
{
    std::string dir;
    std::string path;
    TempLog()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "left4me-log-XXXXXX").string();
        dir = ::mkdtemp(pattern.data());
        path = dir + "/log";
        LogFile::create(path);
    }
    ~TempLog() { std::filesystem::remove_all(dir); }
    void append(const std::string& text) const { std::ofstream(path, std::ios::app) << text; }
};

// "line 0\n" to "line COUNT-1\n".
std::string numberedLines(int count)
{
    std::string text;
    for (int i = 0; i < count; ++i)
    {
        text += "line " + std::to_string(i) + "\n";
    }
    return text;
}

std::size_t openFds()
{
    return static_cast<std::size_t>(
        std::distance(std::filesystem::directory_iterator("/proc/self/fd"), std::filesystem::directory_iterator()));
}

} // namespace

TEST_CASE("a log file delivers contiguous numbered lines, the last one even without a newline")
{
    TempLog tmp;
    std::vector<std::string> seen;
    uint64_t expectedFirst = 0;
    LogFile log(tmp.path, [&](uint64_t first, std::vector<std::string>&& lines) {
        CHECK(first == expectedFirst);
        expectedFirst += lines.size();
        seen.insert(seen.end(), lines.begin(), lines.end());
    });
    tmp.append("a\nb\n");
    log.follow();
    tmp.append("c\nd");
    log.finish();
    CHECK(seen == std::vector<std::string>{"a", "b", "c", "d"});
    CHECK(log.lineCount() == 4);
}

TEST_CASE("replaying a log gives exactly the lines that were delivered, from any line")
{
    TempLog tmp;
    tmp.append(numberedLines(20000) + "tail");
    std::vector<std::string> seen;
    LogFile log(tmp.path, [&](uint64_t, std::vector<std::string>&& lines) {
        seen.insert(seen.end(), lines.begin(), lines.end());
    });
    log.follow();
    CHECK(log.lineCount() == 20000);
    auto [next, lines] = log.read(19998, 10);
    CHECK(next == 20000);
    CHECK(lines == std::vector<std::string>{"line 19998", "line 19999"});
    log.finish();
    auto [afterEnd, last] = log.read(19999, 10);
    CHECK(afterEnd == 20001);
    CHECK(last == std::vector<std::string>{"line 19999", "tail"});
    auto [n, middle] = log.read(8191, 3);
    CHECK(n == 8194);
    CHECK(middle == std::vector<std::string>{"line 8191", "line 8192", "line 8193"});
    auto [all, everything] = log.read(0, 65536);
    CHECK(all == 20001);
    CHECK(everything == seen);
    auto [beyond, none] = log.read(50000, 10);
    CHECK(beyond == 50000);
    CHECK(none.empty());
}

TEST_CASE("a replay page stops before 8 MiB of text, however few lines that is")
{
    TempLog tmp;
    std::string line(60 * 1024, 'x');
    for (int i = 0; i < 200; ++i) // 200 lines of 60 KiB: about 12 MiB
    {
        tmp.append(line + "\n");
    }
    LogFile log(tmp.path, [](uint64_t, std::vector<std::string>&&) {});
    log.finish();
    REQUIRE(log.lineCount() == 200);
    auto [next, page] = log.read(0, 65536);
    CHECK(page.size() == LogFile::maxReadBytes / line.size());
    CHECK(next == page.size());
    auto [end, rest] = log.read(next, 65536);
    CHECK(end == 200);
    CHECK(page.size() + rest.size() == 200);
}

TEST_CASE("a restored log replays as the followed one did, without being read until asked")
{
    TempLog tmp;
    tmp.append(numberedLines(20000) + "tail");
    std::vector<std::string> seen;
    LogFile followed(tmp.path, [&](uint64_t, std::vector<std::string>&& lines) {
        seen.insert(seen.end(), lines.begin(), lines.end());
    });
    followed.follow();
    followed.finish();

    bool delivered = false;
    LogFile restored(tmp.path, [&](uint64_t, std::vector<std::string>&&) { delivered = true; });
    REQUIRE(restored.restore(followed.extent()));
    CHECK(restored.finished());
    CHECK(restored.lineCount() == 20001);
    for (uint64_t from : {uint64_t{19999}, uint64_t{0}, uint64_t{8191}, uint64_t{4096}})
    {
        CHECK(restored.read(from, 3) == followed.read(from, 3));
    }
    CHECK(restored.read(0, 65536).second == seen);
    restored.finish(); // idempotent: nothing more to deliver
    CHECK_FALSE(delivered);
}

TEST_CASE("a log whose size is not the recorded one is not restored")
{
    TempLog tmp;
    tmp.append("a\nb\n");
    LogFile log(tmp.path, [](uint64_t, std::vector<std::string>&&) {});
    CHECK_FALSE(log.restore(LogExtent{2, 3}));
    CHECK(log.lineCount() == 0);
    log.finish();
    CHECK(log.lineCount() == 2);
}

TEST_CASE("an ended log holds no open file, and still replays")
{
    // A daemon keeps up to job_retention_count (100,000) ended logs, far
    // more than the 1024 files it may have open.
    TempLog tmp;
    tmp.append(numberedLines(10));
    auto before = openFds();
    std::vector<std::unique_ptr<LogFile>> logs;
    for (int i = 0; i < 50; ++i)
    {
        logs.push_back(std::make_unique<LogFile>(tmp.path, [](uint64_t, std::vector<std::string>&&) {}));
        logs.back()->finish();
    }
    CHECK(openFds() == before);
    auto [next, lines] = logs.back()->read(8, 10);
    CHECK(next == 10);
    CHECK(lines == std::vector<std::string>{"line 8", "line 9"});
    CHECK(openFds() == before);
}

TEST_CASE("an ended log replaced on disk by another file is not read")
{
    TempLog tmp;
    tmp.append("mine\n");
    LogFile log(tmp.path, [](uint64_t, std::vector<std::string>&&) {});
    log.finish();
    std::filesystem::remove(tmp.path);
    LogFile::create(tmp.path);
    tmp.append("not mine\n");
    CHECK(log.read(0, 10).second.empty());
}
