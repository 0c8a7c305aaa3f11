#include "loop/glib_source.hpp"

#include <doctest/doctest.h>

#include <utility>

using left4me::GlibSource;

namespace {

// Counts how often it ran; the source stays unless told otherwise.
struct Counter
{
    int runs = 0;
    gboolean keep = G_SOURCE_CONTINUE;
    GlibSource* owner = nullptr;
};

gboolean count(gpointer data)
{
    auto* c = static_cast<Counter*>(data);
    ++c->runs;
    if (c->keep == G_SOURCE_REMOVE && c->owner != nullptr)
    {
        c->owner->forget();
    }
    return c->keep;
}

bool exists(guint id)
{
    return g_main_context_find_source_by_id(nullptr, id) != nullptr;
}

void iterate()
{
    while (g_main_context_iteration(nullptr, FALSE))
    {
    }
}

} // namespace

TEST_CASE("GlibSource removes its source when destroyed, so the callback never runs")
{
    Counter counter;
    guint id = g_idle_add(count, &counter);
    {
        GlibSource source(id);
        CHECK(source.active());
        CHECK(exists(id));
    }
    CHECK_FALSE(exists(id));
    iterate();
    CHECK(counter.runs == 0);
}

TEST_CASE("GlibSource: reset replaces the source, a move hands it over once")
{
    Counter first;
    Counter second;
    guint a = g_idle_add(count, &first);
    guint b = g_idle_add(count, &second);
    GlibSource source(a);
    source.reset(b);
    CHECK_FALSE(exists(a));
    CHECK(exists(b));

    GlibSource moved(std::move(source));
    CHECK(moved.active());
    CHECK(exists(b));
    GlibSource assigned;
    assigned = std::move(moved);
    CHECK(exists(b));
    assigned.reset();
    CHECK_FALSE(assigned.active());
    CHECK_FALSE(exists(b));
    iterate();
    CHECK(first.runs == 0);
    CHECK(second.runs == 0);
}

TEST_CASE("GlibSource: a source that removed itself is forgotten, not removed again")
{
    // Removing a stale id is a GLib critical; make it fatal so this test sees it.
    GLogLevelFlags before = g_log_set_always_fatal(static_cast<GLogLevelFlags>(G_LOG_LEVEL_CRITICAL));
    {
        GlibSource source;
        Counter counter{0, G_SOURCE_REMOVE, &source};
        source.reset(g_idle_add(count, &counter));
        iterate();
        CHECK(counter.runs == 1);
        CHECK_FALSE(source.active());
    } // the destructor must not call g_source_remove on the old id
    g_log_set_always_fatal(before);
}
