#include "runtime/run_history.h"

#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "runtime/atomic_file.h"
#include "runtime/stats.h"
#include "support/diag.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

// The complete lines of one of the run's files; none when it does not exist. A FIFO or a link in its place is
// not read (it could hang netc, or name another file): the folder is not a run netc can continue.
std::vector<std::string> linesOf(const fs::path& file) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(file, ec);
  if (!fs::exists(st)) return {};
  if (!fs::is_regular_file(st))
    fail(fmt::format("cannot resume in '{}': '{}' is not a regular file", file.parent_path().string(), file.string()));
  return readCompleteLines(file.string());
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

// Rewrites a CSV keeping its header and the lines whose first field passes `keep`.
template <class Keep>
void trimCsv(const fs::path& file, const char* header, Keep keep) {
  std::string text = std::string(header) + "\n";
  for (const std::string& line : linesOf(file))
    if (int64_t step = leadingStep(line); step >= 0 && keep(step)) text += line + "\n";
  writeFileAtomically(file.string(), text);
}

}  // namespace

void keepHistoryBefore(const std::string& dir, int64_t step) {
  const fs::path d(dir);
  trimCsv(d / "losses.csv", "step,loss,lr", [&](int64_t s) { return s < step; });
  trimCsv(d / "evals.csv", "done,split,loss", [&](int64_t done) { return done <= step; });
  if (fs::exists(fs::symlink_status(d / "stats.jsonl"))) {
    std::string text;
    for (const std::string& line : linesOf(d / "stats.jsonl")) {
      try {
        if (snapshotFromJson(nlohmann::json::parse(line)).step < step) text += line + "\n";
      } catch (const nlohmann::json::exception&) {
        // not a record netc wrote: dropped, so the report can read back every line kept
      }
    }
    writeFileAtomically((d / "stats.jsonl").string(), text);
  }
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
  for (const std::string& line : linesOf(fs::path(dir) / "losses.csv")) {
    const int64_t step = leadingStep(line);
    const size_t a = line.find(','), b = line.rfind(',');
    if (step < 0 || a == b) continue;
    if (auto loss = lastNumber(line.substr(0, b))) out.emplace_back(step, *loss);
  }
  return out;
}

std::vector<std::pair<int64_t, double>> readDevHistory(const std::string& dir) {
  std::vector<std::pair<int64_t, double>> out;
  for (const std::string& line : linesOf(fs::path(dir) / "evals.csv")) {
    const int64_t done = leadingStep(line);
    if (done < 0 || line.find(",dev,") == std::string::npos) continue;
    if (auto loss = lastNumber(line)) out.emplace_back(done, *loss);
  }
  return out;
}

}  // namespace netc
