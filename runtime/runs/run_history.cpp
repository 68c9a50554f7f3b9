#include "runtime/runs/run_history.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "runtime/files/atomic_file.h"
#include "runtime/probes/stats.h"
#include "support/diag.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

// Whether one of the run's files is there to be continued. A FIFO or a link in its place is not read (it
// could hang netc, or name another file): the folder is not a run netc can continue.
bool present(const fs::path& file) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(file, ec);
  if (!fs::exists(st)) return false;
  if (!fs::is_regular_file(st))
    fail(fmt::format("cannot resume in '{}': '{}' is not a regular file", file.parent_path().string(), file.string()));
  return true;
}

// Calls f(line) for each complete line of a run's file, reading it as a stream (a long run's losses.csv may
// not fit in memory). A last line without its newline (a killed writer's) is left out.
template <class F>
void forEachLine(const fs::path& file, F f) {
  if (!present(file)) return;
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(fmt::format("cannot read '{}': {}", file.string(), std::strerror(errno)));
  for (std::string line; std::getline(in, line);)
    if (!in.eof()) f(line);  // eof here: the last line had no newline
}

// The first comma-separated field of a CSV line as a step count, or -1 when it is not one (the header line).
int64_t leadingStep(const std::string& line) {
  const size_t comma = line.find(',');
  if (comma == std::string::npos) return -1;
  int64_t step = -1;
  auto [ptr, ec] = std::from_chars(line.data(), line.data() + comma, step);
  return ec == std::errc() && ptr == line.data() + comma && step >= 0 ? step : -1;
}

// The number after the last comma of a CSV line, when it is one.
std::optional<double> lastNumber(const std::string& line) {
  const size_t comma = line.rfind(',');
  if (comma == std::string::npos) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(line.substr(comma + 1), &used);
    if (used == line.size() - comma - 1) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Drops the end of one of the run's files: the lines after the last complete line that `kept` accepts, a partial
// last line among them. Steps only grow down a file, so the kept lines are a prefix and only the dropped end is
// read (from the end, in growing pieces), however long the file. `accept(last)` sees the last kept line (nullptr
// when none is) before anything is written, and may refuse the file. One ftruncate: a kill leaves the file as it
// was or trimmed. A file that ends up empty gets `header` (a CSV's first line).
template <class Kept, class Accept>
void dropAfter(const fs::path& file, const std::string& header, Kept kept, Accept accept) {
  const bool existed = present(file);
  if (!existed) accept(nullptr);
  if (!existed && header.empty()) return;
  const int fd = openOwnFile(file.string(), O_RDWR, OpenMode::Keep);
  struct stat st{};
  if (::fstat(fd, &st) != 0) ::close(fd), fail(fmt::format("cannot read '{}': {}", file.string(), std::strerror(errno)));
  const off_t size = st.st_size;
  off_t cut = 0;
  std::string last;
  for (off_t piece = 1 << 16;; piece *= 2) {
    const off_t start = std::max<off_t>(0, size - piece);
    std::string tail(static_cast<size_t>(size - start), '\0');
    if (::pread(fd, tail.data(), tail.size(), start) != static_cast<ssize_t>(tail.size()))
      ::close(fd), fail(fmt::format("cannot read '{}': {}", file.string(), std::strerror(errno)));
    // Back from the last newline, line by line, to the first one kept; a line cut by the piece's start needs a
    // bigger piece.
    bool found = false;
    for (size_t end = tail.rfind('\n'); end != std::string::npos;) {
      const size_t before = end == 0 ? std::string::npos : tail.rfind('\n', end - 1);
      if (before == std::string::npos && start > 0) break;
      const size_t begin = before == std::string::npos ? 0 : before + 1;
      if (std::string line = tail.substr(begin, end - begin); kept(line)) {
        cut = start + static_cast<off_t>(end) + 1, found = true, last = std::move(line);
        break;
      }
      end = before;
    }
    if (found || start == 0) break;  // else the piece began inside the line to look at next: a bigger one
  }
  if (existed) {
    try {
      accept(cut > 0 ? &last : nullptr);
    } catch (...) {
      ::close(fd);
      throw;
    }
  }
  int err = ::ftruncate(fd, cut) == 0 ? 0 : errno;
  if (err == 0 && cut == 0 && !header.empty()) {
    const std::string line = header + "\n";
    if (::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) err = errno ? errno : ENOSPC;
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) fail(fmt::format("cannot write '{}': {}", file.string(), std::strerror(err)));
}

// losses.csv has a line for every step, and a checkpoint is written only once the lines of the steps before it
// are on disk (RunFolder::onCheckpoint): the kept part must end with the line of step `step` - 1 (the header
// when resuming at 0). Anything else is a file cut short or edited (a torn line left out, the last lines gone):
// continuing would leave a hole in the history, so the resume is refused before anything is written.
void requireLossesUpTo(const fs::path& file, const std::string* last, int64_t step) {
  const bool isRow = last && leadingStep(*last) >= 0;
  const size_t a = isRow ? last->find(',') : 0, b = isRow ? last->rfind(',') : 0;
  const bool whole = isRow && a != b && lastNumber(last->substr(0, b)) && lastNumber(*last);
  if (step == 0 ? !last || *last == "step,loss,lr" : whole && leadingStep(*last) == step - 1) return;
  const std::string expected =
      step == 0 ? "the header 'step,loss,lr'"
                : fmt::format("a line 'step,loss,lr' for every step up to {}, the weights being saved after {} steps",
                              step - 1, step);
  const std::string_view text = last ? std::string_view(*last) : std::string_view();
  const std::string shown = fmt::format("{}{}", text.substr(0, 60), text.size() > 60 ? "..." : "");
  std::error_code ec;
  const std::string found = !fs::exists(fs::symlink_status(file, ec)) ? "it is missing"
                            : !last                                    ? "it has no complete line"
                            : isRow && !whole ? fmt::format("its last line kept is '{}', not a whole one", shown)
                                              : fmt::format("its last line kept is '{}'", shown);
  fail(fmt::format("--resume: '{}' is cut short or edited: {}, expected {} (restore the file, or drop --resume to "
                   "start a new run from these weights)", file.string(), found, expected));
}

}  // namespace

void keepHistoryBefore(const std::string& dir, int64_t step, bool evaluatesAtStep) {
  const fs::path d(dir);
  const auto any = [](const std::string*) {};
  // A line that is not a step's (the header) ends the scan: it is kept, and checked as losses.csv's last line.
  const fs::path losses = d / "losses.csv";
  dropAfter(losses, "step,loss,lr", [&](const std::string& line) { return leadingStep(line) < step; },
            [&](const std::string* last) { requireLossesUpTo(losses, last, step); });
  // The evaluation after `step` updates stays unless the resumed run makes it again (a finished run resumed
  // evaluates its weights again): kept, it would be there twice.
  const int64_t keptDone = evaluatesAtStep ? step - 1 : step;
  dropAfter(d / "evals.csv", "done,split,loss", [&](const std::string& line) { return leadingStep(line) <= keptDone; },
            any);
  dropAfter(d / "stats.jsonl", "", [&](const std::string& line) {
    try {
      return snapshotFromJson(nlohmann::json::parse(line)).step < step;
    } catch (const nlohmann::json::exception&) {
      return false;  // not a whole record: dropped with what follows
    }
  }, any);
  for (const char* end : {"result.json", "samples.txt", "report.html"}) {
    std::error_code ec;
    fs::remove(d / end, ec);
    if (ec) fail(fmt::format("cannot remove '{}' of the run being resumed: {}", (d / end).string(), ec.message()));
  }
  syncDirectory(dir);
}

std::vector<std::pair<int64_t, double>> readLossHistory(const std::string& dir) {
  // step,loss,lr: the loss is the second field.
  std::vector<std::pair<int64_t, double>> out;
  forEachLine(fs::path(dir) / "losses.csv", [&](const std::string& line) {
    const int64_t step = leadingStep(line);
    const size_t a = line.find(','), b = line.rfind(',');
    if (step < 0 || a == b) return;
    if (auto loss = lastNumber(line.substr(0, b))) out.emplace_back(step, *loss);
  });
  return out;
}

std::vector<std::pair<int64_t, double>> readDevHistory(const std::string& dir) {
  std::vector<std::pair<int64_t, double>> out;
  forEachLine(fs::path(dir) / "evals.csv", [&](const std::string& line) {
    const int64_t done = leadingStep(line);
    if (done < 0 || line.find(",dev,") == std::string::npos) return;
    if (auto loss = lastNumber(line)) out.emplace_back(done, *loss);
  });
  return out;
}

void forEachStatsRecord(const std::string& dir, const std::function<void(StatsSnapshot)>& f) {
  const fs::path file = fs::path(dir) / "stats.jsonl";
  int64_t n = 0;
  forEachLine(file, [&](const std::string& line) {
    ++n;
    try {
      f(snapshotFromJson(nlohmann::json::parse(line)));
    } catch (const nlohmann::json::exception& e) {
      fail(fmt::format("{}:{}: not a statistics record: {}", file.string(), n, e.what()));
    }
  });
}

}  // namespace netc
