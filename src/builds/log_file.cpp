#include "builds/log_file.hpp"

#include "util/log.hpp"

#include <fcntl.h>
#include <glib-unix.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace left4me {

namespace {

constexpr std::size_t chunkBytes = std::size_t{256} * 1024;
// A Log signal carries at most this many lines or bytes, so one burst of
// output never makes a message that clients choke on.
constexpr std::size_t batchLines = 8192;
constexpr std::size_t batchBytes = std::size_t{1024} * 1024;

} // namespace

void LogFile::create(const std::string& path)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640));
    if (!fd)
    {
        throw std::runtime_error("cannot create the build log " + path + ": " + std::strerror(errno));
    }
}

LogFile::LogFile(std::string path, Sink sink) : path_(std::move(path)), sink_(std::move(sink))
{
    fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st
    {
    };
    if (!fd_ || ::fstat(fd_.get(), &st) != 0)
    {
        throw std::runtime_error("cannot open the build log " + path_ + ": " + std::strerror(errno));
    }
    device_ = st.st_dev;
    inode_ = st.st_ino;
}

int LogFile::readableFd(UniqueFd& reopened) const
{
    if (fd_)
    {
        return fd_.get();
    }
    // An ended log: opened for this read only, and only if it is still the
    // file this object was made for, as long as when it was cut.
    reopened.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st
    {
    };
    std::string problem;
    if (!reopened || ::fstat(reopened.get(), &st) != 0)
    {
        problem = std::strerror(errno);
    }
    else if (st.st_dev != device_ || st.st_ino != inode_ || static_cast<uint64_t>(st.st_size) != offset_)
    {
        // An inode number may be reused; an ended log's size never changes.
        problem = "it is another file now";
    }
    if (!problem.empty())
    {
        log::warning("Cannot read the ended build log " + path_ + ": " + problem);
        reopened.reset();
        return -1;
    }
    return reopened.get();
}

void LogFile::follow()
{
    inotify_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!inotify_ || ::inotify_add_watch(inotify_.get(), path_.c_str(), IN_MODIFY) < 0)
    {
        throw std::runtime_error("cannot watch the build log " + path_ + ": " + std::strerror(errno));
    }
    watch_ = GlibSource::fdWatch(inotify_.get(), G_IO_IN, [this] { return onInotify(); });
    drain();
}

bool LogFile::onInotify()
{
    // The events only say "there is more"; the file itself is the data.
    std::array<char, 4096> events{};
    while (::read(inotify_.get(), events.data(), events.size()) > 0)
    {
    }
    drain();
    return true;
}

void LogFile::drain()
{
    std::string buffer(chunkBytes, '\0');
    std::vector<std::string> lines;
    for (;;)
    {
        auto n = ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset_));
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0)
        {
            log::error("Cannot read the build log " + path_ + ": " + std::strerror(errno));
            break;
        }
        if (n == 0)
        {
            break;
        }
        offset_ += static_cast<uint64_t>(n);
        splitter_.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)), lines);
        deliver(std::move(lines));
        lines.clear();
        if (splitter_.atLineStart())
        {
            checkpoint(lines_, offset_);
        }
    }
}

void LogFile::checkpoint(uint64_t line, uint64_t offset) const
{
    if (line - checkpoints_.back().line >= checkpointInterval)
    {
        checkpoints_.push_back({line, offset});
    }
}

bool LogFile::restore(LogExtent extent)
{
    struct stat st
    {
    };
    if (::fstat(fd_.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != extent.bytes)
    {
        return false;
    }
    lines_ = extent.lines;
    offset_ = extent.bytes;
    finished_ = true;
    indexed_ = false;
    fd_.reset(); // see finish()
    return true;
}

std::string_view LogFile::readCut(int fd, std::string& buffer, uint64_t offset) const
{
    auto n =
        ::pread(fd, buffer.data(), std::min<uint64_t>(buffer.size(), offset_ - offset), static_cast<off_t>(offset));
    return n > 0 ? std::string_view(buffer.data(), static_cast<std::size_t>(n)) : std::string_view();
}

void LogFile::index(int fd) const
{
    indexed_ = true;
    // Cut as drain() cuts: any line start is a valid checkpoint.
    LineSplitter splitter;
    std::string buffer(chunkBytes, '\0');
    std::vector<std::string> lines;
    uint64_t line = 0;
    uint64_t offset = 0;
    while (offset < offset_)
    {
        auto chunk = readCut(fd, buffer, offset);
        if (chunk.empty())
        {
            break;
        }
        offset += chunk.size();
        splitter.feed(chunk, lines);
        line += lines.size();
        lines.clear();
        if (splitter.atLineStart())
        {
            checkpoint(line, offset);
        }
    }
}

void LogFile::deliver(std::vector<std::string>&& lines)
{
    auto it = lines.begin();
    while (it != lines.end())
    {
        std::vector<std::string> batch;
        std::size_t bytes = 0;
        while (it != lines.end() && batch.size() < batchLines && (batch.empty() || bytes + it->size() <= batchBytes))
        {
            bytes += it->size();
            batch.push_back(std::move(*it));
            ++it;
        }
        auto first = lines_;
        lines_ += batch.size();
        sink_(first, std::move(batch));
    }
}

void LogFile::finish()
{
    if (finished_)
    {
        return;
    }
    drain();
    std::vector<std::string> last;
    splitter_.finish(last);
    deliver(std::move(last));
    finished_ = true;
    watch_.reset();
    inotify_.reset();
    // An ended log keeps no fd: up to job_retention_count (100,000) of them
    // are kept, far past the daemon's 1024 open files. A replay opens it.
    fd_.reset();
}

std::pair<uint64_t, std::vector<std::string>> LogFile::read(uint64_t from, uint32_t max) const
{
    std::vector<std::string> out;
    if (max == 0 || from >= lines_)
    {
        return {from, out};
    }
    UniqueFd reopened;
    int fd = readableFd(reopened);
    if (fd < 0)
    {
        return {from, out};
    }
    if (!indexed_)
    {
        index(fd);
    }
    auto checkpoint = std::upper_bound(checkpoints_.begin(), checkpoints_.end(), from,
                                       [](uint64_t line, const Checkpoint& c) { return line < c.line; });
    --checkpoint; // checkpoints_ starts with {0, 0}, so one is always at or before FROM
    uint64_t line = checkpoint->line;
    uint64_t offset = checkpoint->offset;
    // Only what has been delivered is replayed, so replay and signals agree.
    uint64_t wanted = std::min<uint64_t>(lines_, from + max);
    LineSplitter splitter;
    std::string buffer(chunkBytes, '\0');
    std::vector<std::string> lines;
    std::size_t bytes = 0;
    bool full = false;
    while (line < wanted && offset < offset_ && !full)
    {
        auto chunk = readCut(fd, buffer, offset);
        if (chunk.empty())
        {
            break;
        }
        offset += chunk.size();
        splitter.feed(chunk, lines);
        if (offset >= offset_ && finished_)
        {
            splitter.finish(lines);
        }
        for (auto& l : lines)
        {
            if (line >= from && line < wanted && !full)
            {
                // A reply must stay far below the bus's message limit
                // (32 MiB on the system bus): long lines shorten the page.
                if (!out.empty() && bytes + l.size() > maxReadBytes)
                {
                    full = true;
                    break;
                }
                bytes += l.size();
                out.push_back(std::move(l));
            }
            ++line;
        }
        lines.clear();
    }
    return {from + out.size(), out};
}

} // namespace left4me
