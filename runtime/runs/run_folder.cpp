#include "runtime/runs/run_folder.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/files/json_fields.h"
#include "runtime/runs/run_history.h"
#include "runtime/files/safetensors.h"
#include "support/diag.h"
#include "support/files.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockFile = ".netc.lock";

// The pid the lock file records, for the message that names the run holding the folder.
std::string lockHolder(int fd) {
  char buf[32] = {};
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "another process" : "process " + pid;
}

}  // namespace

std::string RunFolder::defaultPath(const std::string& root, const std::string& model) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::error_code ec;
  fs::create_directories(root, ec);
  std::string base = (fs::path(root) / fmt::format("{}-{}", model, stamp)).string();
  std::string p = base;
  // create_directory is one mkdir: of two runs started in the same second, only one gets a given name.
  for (int i = 2; !fs::create_directory(p, ec); ++i) {
    if (ec) fail(fmt::format("cannot create the run folder '{}': {}", p, ec.message()));
    p = fmt::format("{}-{}", base, i);
  }
  return p;
}

const std::vector<std::string>& RunFolder::runFiles() {
  static const std::vector<std::string> files = {"config.json", "losses.csv",  "evals.csv",   "weights.safetensors",
                                                 "samples.txt", "result.json", "stats.jsonl", "report.html"};
  return files;
}

RunFolder::RunFolder(std::string path) : RunFolder(std::move(path), Options{}) {}

RunFolder::RunFolder(std::string path, const Options& options) : path_(std::move(path)) {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec || !fs::is_directory(path_))
    fail(fmt::format("cannot create the run folder '{}': {}", path_, ec ? ec.message() : "not a directory"));
  lock();  // first: everything below looks at files that only the lock holder may touch
  checkInputs(options.inputs);
  const bool startsHere = !options.startWeights.empty() && sameFile(options.startWeights, file("weights.safetensors"));
  continues_ = startsHere && options.resumeAt >= 0;
  if (continues_) keepHistoryBefore(path_, options.resumeAt, options.resumeEvaluatesFirst);
  else clearOrRefuse(options.force, startsHere);
  // Only now that the folder is accepted, and only netc's own temporaries.
  std::vector<std::string> own = runFiles();
  own.push_back(kLockFile);
  removeStaleTemporaries(path_, own);
  // Resumed in place, the kept history ends in complete lines (keepHistoryBefore) and the new lines follow.
  const OpenMode mode = continues_ ? OpenMode::Keep : OpenMode::Truncate;
  losses_ = AppendFile(file("losses.csv"), mode);
  if (!continues_) losses_.print("step,loss,lr\n");
  evals_ = AppendFile(file("evals.csv"), mode);
  if (!continues_) evals_.print("done,split,loss\n");
  syncDirectory(path_);
}

// The AppendFiles close themselves (quietly: an error here is already being reported), then the lock goes.
RunFolder::~RunFolder() = default;

RunFolder::LockFd::~LockFd() {
  if (fd >= 0) ::close(fd);
}

void RunFolder::lock() {
  const std::string lockPath = file(kLockFile);
  int& fd = lock_.fd;
  // Never through a link: a .netc.lock planted as a link to another file would have it truncated below.
  fd = openOwnFile(lockPath, O_RDWR, OpenMode::Keep);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = lockHolder(fd);
    if (err == EWOULDBLOCK)
      fail(fmt::format("the run folder '{}' is in use by another netc run ({}): wait for it to finish, or choose "
                       "another --out", path_, holder));
    fail(fmt::format("cannot lock '{}': {}", lockPath, std::strerror(err)));
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    fail(fmt::format("cannot write '{}': {}", lockPath, std::strerror(errno)));
}

void RunFolder::checkInputs(const std::vector<CommandInput>& inputs) const {
  // Even with --force: clearing the folder would delete the model or the data the user trains on.
  for (const std::string& f : runFiles()) refuseToOverwriteInput("the run file", file(f), inputs);
}

void RunFolder::clearOrRefuse(bool force, bool keepWeights) const {
  std::vector<std::string> present;
  for (const std::string& f : runFiles())
    if (fs::exists(fs::symlink_status(file(f)))) present.push_back(f);
  // The weights this run starts from stay until its first checkpoint (written at once) replaces them by rename:
  // deleting them first would leave the folder without weights until then.
  if (force && keepWeights) std::erase(present, std::string("weights.safetensors"));
  if (present.empty()) return;
  if (!force)
    fail(fmt::format("the run folder '{}' holds the results of another run ({}): pass --force to replace them, "
                     "or --init-from {} --resume to continue that run, or choose another --out",
                     path_, fmt::join(present, ", "), file("weights.safetensors")));
  // Only files (and links, removed as names) are a run's: a folder under a run file's name is refused before
  // anything is removed, so a refused folder is left as it was.
  for (const std::string& f : present) {
    std::error_code ec;
    if (fs::symlink_status(file(f), ec).type() == fs::file_type::directory)
      fail(fmt::format("the run folder '{}' has a folder named '{}' where a run writes a file: remove it, or choose "
                       "another --out", path_, f));
  }
  for (const std::string& f : present) {
    std::error_code ec;
    fs::remove(file(f), ec);  // the name itself: a link is removed, never what it points to
    if (ec) fail(fmt::format("cannot remove '{}' of the previous run: {}", file(f), ec.message()));
  }
  syncDirectory(path_);
}

std::string RunFolder::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

void RunFolder::writeJson(const std::string& name, const nlohmann::json& j) {
  writeFileAtomically(file(name), j.dump(2) + "\n");
}

void RunFolder::writeSamples(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += w + "\n";
  writeFileAtomically(file("samples.txt"), text);
}

void RunFolder::finish() {
  losses_.close();
  evals_.close();
}

void RunFolder::onStep(int64_t step, double loss, double lr) {
  // fmt formats into a buffer reserved up front: no allocation per step.
  losses_.print("{},{:.6g},{:g}\n", step, loss, lr);
}

void RunFolder::onEval(int64_t done, const SplitLosses& l) {
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    if (!std::isnan(l[s])) evals_.print("{},{},{:.6f}\n", done, splitName(s), l[s]);
  evals_.flush();
}

void RunFolder::onCheckpoint(int64_t done, const WeightMap& w) {
  // The history up to the checkpoint is on disk before the checkpoint: weights saved after `done` steps always
  // come with losses.csv's lines of the steps before, which resuming them requires (keepHistoryBefore).
  losses_.sync();
  evals_.sync();
  // The steps done let `netc run --init-from ... --resume` continue the schedule and the minibatch stream.
  saveSafetensors(file("weights.safetensors"), w, {}, {{"netc.steps_done", std::to_string(done)}});
}

nlohmann::json describeVocabulary(const Vocabulary& v) { return {{"chars", v.chars}, {"size", v.size()}}; }

std::optional<nlohmann::json> configBeside(const std::string& weightsPath) {
  const fs::path config = fs::path(weightsPath).parent_path() / "config.json";
  std::error_code ec;
  if (fs::symlink_status(config, ec).type() == fs::file_type::not_found) return std::nullopt;
  // Read as compare reads it: a regular file of bounded size (a FIFO or a device planted there is refused, not
  // waited on), a key twice is an error.
  return parseStrictJson(readRegularFile(config.string(), "the weights' config.json", kMaxConfigFileBytes), config.string());
}

WeightMap loadWeightsFor(const Model& m, const std::string& path) {
  if (std::string why = inputFileProblem(path); !why.empty())
    fail(why == "no such file" ? fmt::format("weights file '{}' not found", path)
                               : fmt::format("cannot read weights file '{}': {}", path, why));
  WeightMap w = loadSafetensors(path);
  const std::optional<nlohmann::json> found = configBeside(path);
  if (!found) return w;  // not from a run folder: only the shapes can be checked
  const nlohmann::json& j = *found;
  const std::string config = (fs::path(path).parent_path() / "config.json").string();
  if (!j.is_object() || !j.contains("vocabulary") || !j["vocabulary"].is_object() || !j["vocabulary"].contains("chars")) return w;
  std::string chars = j["vocabulary"]["chars"].is_string() ? j["vocabulary"]["chars"].get<std::string>() : "";
  if (!chars.empty() && chars != m.vocab.chars)
    fail(fmt::format("{}: these weights were trained on the vocabulary \"{}\" ({} characters, see {}), but the model's "
                     "dataset '{}' has \"{}\" ({} characters): pass the same data file with --data",
                     path, chars, chars.size(), config, m.data.path, m.vocab.chars, m.vocab.size()));
  return w;
}

std::string RunFolder::heldBy(const std::string& folder) {
  const std::string lock = (fs::path(folder) / kLockFile).string();
  int fd = ::open(lock.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st{};
  std::string holder;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
    holder = lockHolder(fd);
  ::close(fd);  // releases the shared lock if it was taken
  return holder;
}

}  // namespace netc
