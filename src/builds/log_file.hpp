#pragma once

#include "builds/log_lines.hpp"
#include "fs/unique_fd.hpp"
#include "loop/glib_source.hpp"

#include <glib.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace left4me {

// How much of a log has been cut into lines: LINES lines in BYTES bytes.
struct LogExtent
{
    uint64_t lines = 0;
    uint64_t bytes = 0;
};

// A build's log on disk and the reader that follows it. systemd appends the
// unit's stdout and stderr to the file (StandardOutput=append:), so nothing
// depends on the daemon being alive, and nothing passes through the
// journal's rate limit. The daemon follows the file with inotify, cuts it
// into numbered lines and hands them on in batches.
class LogFile
{
  public:
    // Called with the number of the first line and a batch of lines.
    using Sink = std::function<void(uint64_t firstLine, std::vector<std::string>&& lines)>;

    // Creates the (empty) log file at PATH, mode 0640, owned by root.
    static void create(const std::string& path);

    LogFile(std::string path, Sink sink);
    LogFile(const LogFile&) = delete;
    LogFile& operator=(const LogFile&) = delete;
    ~LogFile() = default;

    // Starts following; lines written so far are delivered too.
    void follow();
    // Reads to the end, delivers the last line even without a newline, and
    // stops following. Idempotent.
    void finish();

    // Takes the log of an ended job as its record left it (EXTENT), without
    // reading it: a daemon starting with 100 retained logs of up to 64 MiB
    // would otherwise read them all before its first reply. False (and
    // nothing taken) if the file is not EXTENT's bytes long; then finish()
    // reads it as usual. The first replay indexes the file.
    bool restore(LogExtent extent);

    [[nodiscard]] uint64_t lineCount() const { return lines_; }
    [[nodiscard]] LogExtent extent() const { return {lines_, offset_}; }
    [[nodiscard]] bool finished() const { return finished_; }

    // Up to MAX lines from line FROM, as Log delivered (or will deliver) them.
    // Returns the number of the line after the last one returned.
    // At most MAX lines and, past the first line, at most maxReadBytes of
    // text: a caller reads on from the returned next line.
    std::pair<uint64_t, std::vector<std::string>> read(uint64_t from, uint32_t max) const;
    static constexpr std::size_t maxReadBytes = std::size_t{8} * 1024 * 1024;

  private:
    bool onInotify();
    void drain();
    void deliver(std::vector<std::string>&& lines);
    // Remembers where line LINE starts (OFFSET) if it is a checkpoint's turn.
    void checkpoint(uint64_t line, uint64_t offset) const;
    // Up to BUFFER's size of the file (FD) from OFFSET, never past what was
    // cut into lines (offset_): replays see exactly what Log delivered.
    // Empty at that end, or if the file cannot be read.
    std::string_view readCut(int fd, std::string& buffer, uint64_t offset) const;
    // The fd to read from: fd_ while the log is followed, else the file
    // opened anew into REOPENED. -1 if it is gone or is another file now.
    int readableFd(UniqueFd& reopened) const;
    // Builds the checkpoints of a restored log by reading it (FD) once.
    void index(int fd) const;

    // Every checkpointInterval lines we remember where a line starts, so a
    // replay need not re-read the file from the beginning.
    static constexpr uint64_t checkpointInterval = 4096;
    struct Checkpoint
    {
        uint64_t line;
        uint64_t offset;
    };

    std::string path_;
    Sink sink_;
    UniqueFd fd_;      // closed once finished (see finish())
    dev_t device_ = 0; // the file's identity, checked when it is opened again
    ino_t inode_ = 0;
    UniqueFd inotify_;
    GlibSource watch_;
    LineSplitter splitter_;
    uint64_t offset_ = 0; // bytes consumed
    uint64_t lines_ = 0;  // complete lines delivered
    // Mutable: a restored log is indexed on its first replay, a read.
    mutable std::vector<Checkpoint> checkpoints_{{0, 0}};
    mutable bool indexed_ = true;
    bool finished_ = false;
};

} // namespace left4me
