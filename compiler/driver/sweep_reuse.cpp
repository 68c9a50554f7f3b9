#include "driver/sweep_reuse.h"

#include "runtime/files/json_fields.h"
#include "runtime/runs/run_folder.h"
#include "support/diag.h"
#include "support/files.h"

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace netc::driver {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The most the sweep reads of sweep.json or a run's config.json and result.json (a few KB when netc wrote them).
constexpr uint64_t kMaxSweepJsonBytes = 64ull << 20;

// The keys of `expected` whose recorded value differs, as "steps 40 (asked: 30)".
std::string differences(const json& recorded, const json& expected) {
  std::string out;
  for (const auto& [key, want] : expected.items()) {
    // The model as given may be relative; the absolute path is what identifies it.
    if (key == "model") continue;
    const json have = recorded.contains(key) ? recorded[key] : json(nullptr);
    if (have == want) continue;
    out += fmt::format("{}{} {} (asked: {})", out.empty() ? "" : ", ", key, have.dump(), want.dump());
  }
  return out;
}

}  // namespace

json readRegularJsonFile(const std::string& path) {
  // A regular file only: a FIFO or device planted under a run file's name must not hang or flood the sweep.
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return nullptr;
  try {
    // Bounded, and strict: a key given twice is not read as its last value, the file counts as unreadable.
    return parseStrictJson(readRegularFile(path, "", kMaxSweepJsonBytes), path);
  } catch (const Error&) {
    return nullptr;
  }
}

json expectedRepeat(const SweepPlan& plan, const SweepRun& run) {
  const json& o = plan.options;
  // As cmd_run.cpp's repeatJson writes it for the command line makePlan builds (plus --threads 1).
  return {{"model", plan.model},       {"model_absolute", plan.model}, {"data", o["data"]},
          {"set", run.sets},           {"steps", o["steps"]},          {"batch", o["batch"]},
          {"lr", nullptr},             {"seed", o["seed"]},            {"engine", o["engine"]},
          {"test", false},             {"no_stats", o["no_stats"]},    {"init_from", nullptr},
          {"resume", false},           {"threads", 1}};
}

FoundRun inspectRunFolder(const std::string& folderPath, const json& expected) {
  const fs::path folder(folderPath);
  FoundRun found;
  if (std::string holder = RunFolder::heldBy(folder); !holder.empty()) {
    found.state = FoundRun::RunningElsewhere;
    found.difference = holder;
    return found;
  }
  json r = readRegularJsonFile((folder / "result.json").string());
  if (!r.is_object() || !r.contains("diverged")) return found;
  // A diverged run writes result.json before it samples; one that finished has total_seconds.
  const bool diverged = r["diverged"] == true;
  if (!diverged && !r.contains("total_seconds")) return found;
  json config = readRegularJsonFile((folder / "config.json").string());
  if (!config.is_object() || !config.contains("repeat") || !config["repeat"].is_object()) {
    found.state = FoundRun::OtherConfiguration;
    found.difference = "no recorded configuration (config.json's \"repeat\" section)";
    return found;
  }
  found.difference = differences(config["repeat"], expected);
  if (!found.difference.empty()) {
    found.state = FoundRun::OtherConfiguration;
    return found;
  }
  // Its results must still be there: a folder whose losses, or a finished run's weights, were removed is run
  // again (a run that diverged before its first checkpoint has no weights to keep).
  for (const char* name : {"weights.safetensors", "losses.csv"}) {
    std::error_code ec;
    if (diverged && std::string_view(name) == "weights.safetensors") continue;
    if (fs::symlink_status(folder / name, ec).type() != fs::file_type::regular) return found;
  }
  found.state = FoundRun::Reusable;
  found.status = diverged ? "diverged" : "done";
  found.result = r;
  return found;
}

}  // namespace netc::driver
