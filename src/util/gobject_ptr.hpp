#pragma once

#include <glib-object.h>

#include <memory>

namespace left4me {

// Owners of GLib objects, as systemd has _cleanup_ and GLib g_autoptr: a
// reference or an error released on every path out of a scope.
struct GObjectUnref
{
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T> using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GErrorFree
{
    void operator()(GError* error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GMainLoopUnref
{
    void operator()(GMainLoop* loop) const { g_main_loop_unref(loop); }
};
using GMainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopUnref>;

} // namespace left4me
