#include "loop/glib_source.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <utility>

using left4me::GlibSource;

namespace {

void iterate()
{
    while (g_main_context_iteration(nullptr, FALSE))
    {
    }
}

// Every GLib critical (removing a source twice, a stale id) fails the test.
struct CriticalsAreFatal
{
    GLogLevelFlags before = g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL));
    CriticalsAreFatal() = default;
    CriticalsAreFatal(const CriticalsAreFatal&) = delete;
    CriticalsAreFatal& operator=(const CriticalsAreFatal&) = delete;
    ~CriticalsAreFatal() { g_log_set_always_fatal(before); }
};

} // namespace

TEST_CASE("a source's owner removes it when destroyed, so its callback never runs, and frees the callback")
{
    CriticalsAreFatal fatal;
    int runs = 0;
    auto captured = std::make_shared<int>(0);
    {
        auto source = GlibSource::idle([&runs, captured] {
            ++runs;
            return true;
        });
        CHECK(source.active());
        CHECK(captured.use_count() == 2);
    }
    CHECK(captured.use_count() == 1); // the callback and what it captured are gone
    iterate();
    CHECK(runs == 0);
}

TEST_CASE("a callback that is done leaves its source done, and the owner may still reset it")
{
    CriticalsAreFatal fatal;
    int runs = 0;
    auto source = GlibSource::idle([&runs] {
        ++runs;
        return false;
    });
    iterate();
    iterate();
    CHECK(runs == 1);
    CHECK_FALSE(source.active());
    source.reset(); // no GLib critical: the source is not removed twice
    CHECK_FALSE(source.active());
}

TEST_CASE("a callback may destroy its own source, and runs to its end with what it captured")
{
    CriticalsAreFatal fatal;
    GlibSource source;
    std::string seen;
    source = GlibSource::idle([&source, &seen, text = std::string("still here")] {
        source.reset();
        seen = text; // the capture is alive until the callback returns
        return true;
    });
    iterate();
    CHECK(seen == "still here");
    CHECK_FALSE(source.active());
}

TEST_CASE("a move hands the source over once; assignment removes the one it replaces")
{
    CriticalsAreFatal fatal;
    int first = 0;
    int second = 0;
    auto a = GlibSource::idle([&first] {
        ++first;
        return true;
    });
    auto b = GlibSource::idle([&second] {
        ++second;
        return true;
    });
    GlibSource moved(std::move(a));
    CHECK_FALSE(a.active()); // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(moved.active());
    moved = std::move(b); // the first source goes
    b.reset();            // NOLINT(bugprone-use-after-move)
    g_main_context_iteration(nullptr, FALSE);
    CHECK(first == 0);
    CHECK(second == 1);
    moved.reset();
    iterate();
    CHECK(second == 1);
}

TEST_CASE("an fd watch runs while its fd is ready, a timeout once its time has come")
{
    CriticalsAreFatal fatal;
    std::array<int, 2> pipe{};
    REQUIRE(::pipe(pipe.data()) == 0);
    int ready = 0;
    auto watch = GlibSource::fdWatch(pipe[0], G_IO_IN, [&ready, fd = pipe[0]] {
        char byte = 0;
        (void)!::read(fd, &byte, 1);
        ++ready;
        return true;
    });
    iterate();
    CHECK(ready == 0);
    (void)!::write(pipe[1], "x", 1);
    iterate();
    CHECK(ready == 1);
    bool fired = false;
    auto timer = GlibSource::timeout(std::chrono::milliseconds(1), [&fired] {
        fired = true;
        return false;
    });
    while (!fired)
    {
        g_main_context_iteration(nullptr, TRUE);
    }
    CHECK_FALSE(timer.active());
    watch.reset();
    ::close(pipe[0]);
    ::close(pipe[1]);
}
