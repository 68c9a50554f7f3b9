// Results are never lost or mixed: every write checked and durable (runtime/files/atomic_file.h), one run per folder
// (the lock), another run's results refused unless --force, no command overwriting its inputs, stale
// temporaries removed, partial last lines tolerated. Includes a real kill -9 of a training run and, as root,
// runs on a nearly full tmpfs.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "runtime/files/atomic_file.h"
#include "runtime/runs/run_folder.h"
#include "runtime/files/safetensors.h"
#include "runtime/probes/stats.h"
#include "run_netc.h"
#include "test_util.h"

using namespace netc;
using netc::testing::errorOf;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

const std::string kModel = NETC_SOURCE_DIR "/models/mlp_kaiming.net";
const std::string kData = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("netc_folder_{}_{}", ::getpid(), name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& p, const std::string& text, std::ios::openmode mode = std::ios::trunc) {
  std::ofstream out(p, std::ios::binary | mode);
  out << text;
}

std::vector<std::string> temporariesIn(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) out.push_back(e.path().filename().string());
  return out;
}

// A short `netc run` on the synthetic words with the interpreter (no JIT compile to wait for).
std::string runArgs(const fs::path& out, const std::string& extra = "", int steps = 3) {
  return fmt::format("run {} --data {} --engine interp --steps {} --batch 8 --quiet --out {} {}", kModel, kData, steps,
                     out.string(), extra);
}

}  // namespace

TEST_CASE("atomic file: whole files land complete and readable, failures name the file and the reason") {
  fs::path dir = scratch("atomic");
  writeFileAtomically((dir / "a.json").string(), "{}\n");
  CHECK(readFile(dir / "a.json") == "{}\n");
  writeFileAtomically((dir / "a.json").string(), "[1]\n");  // replaces
  CHECK(readFile(dir / "a.json") == "[1]\n");
  CHECK((fs::status(dir / "a.json").permissions() & fs::perms::others_read) != fs::perms::none);
  CHECK(temporariesIn(dir).empty());

  std::string missing = (dir / "no" / "such" / "x.json").string();
  CHECK(errorOf([&] { writeFileAtomically(missing, "x"); }).find(fmt::format("cannot write '{}': No such file", missing)) !=
        std::string::npos);
  // A folder where the file should be: the rename fails, and the temporary goes with it.
  fs::create_directories(dir / "isdir");
  CHECK(errorOf([&] { writeFileAtomically((dir / "isdir").string(), "x"); }).find("cannot write '") != std::string::npos);
  CHECK(temporariesIn(dir).empty());

  // A full device is reported, not swallowed (no root needed): a path the user named is written in place.
  CHECK(errorOf([&] { writeFileAtomically("/dev/full", "x", OutputPath::Named); })
            .find("cannot write '/dev/full': No space left on device") != std::string::npos);
  // The files netc appends to are its own: a device in their place is refused, not written.
  CHECK(errorOf([&] { AppendFile full("/dev/full"); }).find("it is a character device, not a regular file") != std::string::npos);
  // Appends reach the file in whole lines.
  AppendFile ok((dir / "log.csv").string());
  for (int i = 0; i < 20000; ++i) ok.print("{},{}\n", i, 0.5);  // past the buffer: flushed on the way
  ok.close();
  std::vector<std::string> lines = readCompleteLines((dir / "log.csv").string());
  REQUIRE(lines.size() == 20000);
  CHECK(lines[19999] == "19999,0.5");
}

TEST_CASE("readers of appended files drop a partial last line and keep the rest") {
  fs::path dir = scratch("partial");
  writeFile(dir / "l.csv", "step,loss,lr\n0,3.3,0.1\n1,3.2");
  CHECK(readCompleteLines((dir / "l.csv").string()) == std::vector<std::string>{"step,loss,lr", "0,3.3,0.1"});
  writeFile(dir / "l.csv", "a\n\nb\n");
  CHECK(readCompleteLines((dir / "l.csv").string()) == std::vector<std::string>{"a", "", "b"});
  writeFile(dir / "l.csv", "");
  CHECK(readCompleteLines((dir / "l.csv").string()).empty());
  CHECK(errorOf([&] { readCompleteLines((dir / "none.csv").string()); }).find("cannot read '") != std::string::npos);

  // stats.jsonl: a record cut off by a kill is left out; a bad complete line is still an error.
  StatsSnapshot s;
  s.step = 7, s.loss = 2.5;
  std::string record = toJson(s).dump();
  writeFile(dir / "stats.jsonl", record + "\n" + record.substr(0, record.size() / 2));
  std::vector<StatsSnapshot> log = readStatsLog((dir / "stats.jsonl").string());
  REQUIRE(log.size() == 1);
  CHECK(log[0].step == 7);
  writeFile(dir / "stats.jsonl", record.substr(0, record.size() / 2) + "\n" + record + "\n");
  CHECK(errorOf([&] { readStatsLog((dir / "stats.jsonl").string()); }).find("stats.jsonl:1: not a statistics record") !=
        std::string::npos);
}

TEST_CASE("stale temporaries: those of writers that are gone are removed, a live writer's is kept") {
  fs::path dir = scratch("stale");
  for (const char* f : {".weights.safetensors.tmpAb12Cd", ".config.json.tmpZZZZZZ"}) writeFile(dir / f, "x");
  writeFile(dir / ".samples.txt.tmpLive01", "being written");
  writeFile(dir / "notes.txt", "mine");
  writeFile(dir / ".hidden", "mine");
  // Not netc's: another name, another form, or an older version's "NAME.tmp" (which may be the user's file).
  for (const char* f : {"report.html.tmp", "model.tmp", ".data.txt.tmpAb12Cd", ".config.json.tmpAb12C", ".config.json.tmp-12345"})
    writeFile(dir / f, "mine");
  // A live writer holds its temporary locked (writeFileAtomically does), here through another descriptor.
  int live = ::open((dir / ".samples.txt.tmpLive01").c_str(), O_RDONLY);
  REQUIRE(live >= 0);
  REQUIRE(::flock(live, LOCK_EX) == 0);
  std::vector<std::string> removed = removeStaleTemporaries(dir.string(), RunFolder::runFiles());
  ::close(live);
  CHECK(removed.size() == 2);
  CHECK(fs::exists(dir / ".samples.txt.tmpLive01"));
  for (const char* f : {"notes.txt", ".hidden", "report.html.tmp", "model.tmp", ".data.txt.tmpAb12Cd", ".config.json.tmpAb12C",
                        ".config.json.tmp-12345"})
    CHECK_MESSAGE(fs::exists(dir / f), f);
}

TEST_CASE("run folder: one run at a time, another run's results refused unless forced, inputs never cleared") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  fs::path dir = scratch("rules") / "run";
  {
    RunFolder first(dir.string());
    // The second opener fails at once, naming the holder (flock conflicts between descriptors of one process too).
    std::string busy = errorOf([&] { RunFolder second(dir.string(), {true, {}}); });
    CHECK(busy.find(fmt::format("'{}' is in use by another netc run (process {})", dir.string(), ::getpid())) !=
          std::string::npos);
    first.writeJson("config.json", {{"vocabulary", describeVocabulary(m.vocab)}});
    first.onCheckpoint(1, initParams(m.graph, 1));
    first.finish();
  }
  std::string weights = readFile(dir / "weights.safetensors");
  std::string refused = errorOf([&] { RunFolder again(dir.string()); });
  CHECK(refused.find("holds the results of another run (config.json, losses.csv, evals.csv, weights.safetensors)") !=
        std::string::npos);
  CHECK(refused.find("pass --force") != std::string::npos);
  CHECK(readFile(dir / "weights.safetensors") == weights);  // untouched

  // An input among the run's files is refused even with force, before anything is removed.
  writeFile(dir / "samples.txt", "words\n");
  std::string input = errorOf([&] {
    RunFolder f(dir.string(), {true, {{"the data file", (dir / "samples.txt").string()}}});
  });
  CHECK(input.find("is the same file as the data file") != std::string::npos);
  CHECK(readFile(dir / "samples.txt") == "words\n");
  CHECK(fs::exists(dir / "weights.safetensors"));

  {
    RunFolder forced(dir.string(), {true, {}});
    CHECK_FALSE(fs::exists(dir / "weights.safetensors"));
    CHECK_FALSE(fs::exists(dir / "config.json"));
    CHECK_FALSE(fs::exists(dir / "samples.txt"));
  }
  CHECK(readCompleteLines((dir / "losses.csv").string()) == std::vector<std::string>{"step,loss,lr"});

  // Default folders are claimed by mkdir, so two runs never share one.
  std::string a = RunFolder::defaultPath((dir.parent_path() / "runs").string(), "m");
  std::string b = RunFolder::defaultPath((dir.parent_path() / "runs").string(), "m");
  CHECK(a != b);
  CHECK(fs::is_directory(a));
  CHECK(fs::is_directory(b));
}

TEST_CASE("cli: netc run refuses a finished run's folder, --force replaces it, resume reads before it replaces") {
  fs::path dir = scratch("cli_rules") / "run";
  auto first = runNetc(runArgs(dir));
  CAPTURE(first.out);
  REQUIRE(first.status == 0);
  const std::string trained = readFile(dir / "weights.safetensors");

  // --steps 0 into a finished run used to replace its trained weights.
  auto again = runNetc(runArgs(dir, "", 0));
  CAPTURE(again.out);
  CHECK(again.status == 1);
  CHECK(again.has("holds the results of another run"));
  CHECK_FALSE(again.has("saved in"));
  CHECK(readFile(dir / "weights.safetensors") == trained);

  // Resuming from the folder itself: its weights are read completely before --force removes anything, and
  // the new run starts from them (config.json says so) and saves its own.
  std::string w = (dir / "weights.safetensors").string();
  auto resumed = runNetc(runArgs(dir, "--force --init-from " + w));
  CAPTURE(resumed.out);
  REQUIRE(resumed.status == 0);
  nlohmann::json config = nlohmann::json::parse(readFile(dir / "config.json"));
  CHECK(config["init_from"] == w);
  CHECK(readFile(dir / "weights.safetensors") != trained);
  CHECK(loadSafetensors(w).size() == 5);

  // A forced rerun that diverges before any checkpoint leaves no old weights beside its new config.
  auto diverged = runNetc(runArgs(dir, "--force --lr 1e200"));
  CAPTURE(diverged.out);
  CHECK(diverged.status == 1);
  CHECK(diverged.has("no good weights were saved before it"));
  CHECK_FALSE(fs::exists(dir / "weights.safetensors"));
  CHECK_FALSE(fs::exists(dir / "samples.txt"));
  CHECK(nlohmann::json::parse(readFile(dir / "result.json"))["diverged"] == true);

  // Resumed and diverged: the starting weights are saved at once, so the folder still holds the weights
  // its config.json names.
  fs::path keep = dir.parent_path() / "start.safetensors";
  auto init = runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, keep.string()));
  REQUIRE(init.status == 0);
  auto divergedResume = runNetc(runArgs(dir, "--force --lr 1e200 --init-from " + keep.string()));
  CAPTURE(divergedResume.out);
  CHECK(divergedResume.status == 1);
  CHECK(divergedResume.has("the last good weights (after 0 steps) are in"));
  // The same tensors (the file's metadata records this run's steps done).
  WeightMap kept = loadSafetensors((dir / "weights.safetensors").string()), start = loadSafetensors(keep.string());
  REQUIRE(kept.size() == start.size());
  for (auto& [name, t] : start) CHECK(kept.at(name).data == t.data);

  // The data file inside the folder, as one of the run's files: refused even with --force, and kept.
  fs::copy_file(kData, dir / "samples.txt", fs::copy_options::overwrite_existing);
  auto dataIn = runNetc(fmt::format("run {} --data {} --engine interp --steps 1 --quiet --force --out {}", kModel,
                                    (dir / "samples.txt").string(), dir.string()));
  CAPTURE(dataIn.out);
  CHECK(dataIn.status == 1);
  CHECK(dataIn.has("is the same file as the data file"));
  CHECK(readFile(dir / "samples.txt") == readFile(kData));
}

TEST_CASE("cli: netc grad and netc init never overwrite one of their inputs") {
  fs::path dir = scratch("inputs");
  std::string w = (dir / "w.safetensors").string(), x = (dir / "x.safetensors").string();
  REQUIRE(runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, w)).status == 0);
  const std::string weights = readFile(w);
  // A batch of 2 contexts: x int[2, 3], y int[2].
  WeightMap batch;
  batch["x"] = NamedTensor{{2, 3}, {0, 0, 1, 0, 1, 2}};
  batch["y"] = NamedTensor{{2}, {1, 3}};
  saveSafetensors(x, batch, {"x", "y"});
  fs::create_symlink(w, dir / "link.safetensors");
  for (const std::string& out : {w, (dir / "link.safetensors").string(), (dir / "." / "w.safetensors").string()}) {
    auto r = runNetc(fmt::format("grad {} --data {} --weights {} --inputs {} --out {}", kModel, kData, w, x, out));
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has(fmt::format("--out '{}' is the same file as --weights '{}'", out, w)));
  }
  auto ins = runNetc(fmt::format("grad {} --data {} --weights {} --inputs {} --out {}", kModel, kData, w, x, x));
  CHECK(ins.has("is the same file as --inputs"));
  auto stats = runNetc(fmt::format("grad {} --data {} --weights {} --inputs {} --out {} --stats {}", kModel, kData, w, x,
                                   (dir / "g.safetensors").string(), (dir / "g.safetensors").string()));
  CHECK(stats.status == 1);
  CHECK(stats.has("--stats '"));
  CHECK(readFile(w) == weights);

  fs::copy_file(kModel, dir / "m.net");
  const std::string model = readFile(dir / "m.net");
  auto init = runNetc(fmt::format("init {} --data {} --out {}", (dir / "m.net").string(), kData, (dir / "m.net").string()));
  CHECK(init.status == 1);
  CHECK(init.has("is the same file as the model file"));
  fs::copy_file(kData, dir / "words.txt");
  const std::string words = (dir / "words.txt").string();
  auto data = runNetc(fmt::format("init {} --data {} --out {}", kModel, words, words));
  CHECK(data.status == 1);
  CHECK(data.has("is the same file as the data file"));
  CHECK(readFile(dir / "m.net") == model);
  CHECK(readFile(words) == readFile(kData));
  auto good = runNetc(fmt::format("grad {} --data {} --weights {} --inputs {} --out {}", kModel, kData, w, x,
                                  (dir / "g.safetensors").string()));
  CAPTURE(good.out);
  CHECK(good.status == 0);
}

namespace {

// Starts the built netc with `args` as a child process, its output going to `log`.
pid_t spawnNetc(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<char*> argv = {const_cast<char*>(NETC_BINARY)};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string logPath = log.string();
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    int fd = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, 1), ::dup2(fd, 2);
    if (::chdir(NETC_SOURCE_DIR) != 0) ::_exit(126);
    ::execv(NETC_BINARY, argv.data());
    ::_exit(127);
  }
  return pid;
}

// mlp_kaiming with a checkpoint and a probe collection every 10 steps, so a long run writes all the time.
fs::path busyModel(const fs::path& dir) {
  std::string text = readFile(kModel);
  for (auto [from, to] : {std::pair<std::string, std::string>{"log_every = 10000", "log_every = 10"},
                          {"probe_every = 1000", "probe_every = 10"}}) {
    size_t at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  }
  writeFile(dir / "busy.net", text);
  return dir / "busy.net";
}

}  // namespace

TEST_CASE("kill -9 during training: the lock stops a second run, the weights load, readers take the torn files") {
  fs::path base = scratch("kill");
  fs::path dir = base / "run", model = busyModel(base);
  pid_t pid = spawnNetc({"run", model.string(), "--data", kData, "--steps", "1000000", "--quiet", "--out", dir.string()},
                        base / "log.txt");
  REQUIRE(pid > 0);
  // Until a few checkpoints are on disk (losses.csv is fsynced at each).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool running = true;
  for (;;) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) running = false;
    if (!running || std::chrono::steady_clock::now() > deadline) break;
    if (fs::exists(dir / "weights.safetensors") && fs::exists(dir / "stats.jsonl") && fs::exists(dir / "losses.csv") &&
        readCompleteLines((dir / "losses.csv").string()).size() > 40)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CAPTURE(readFile(base / "log.txt"));
  REQUIRE(running);
  if (std::chrono::steady_clock::now() > deadline) ::kill(pid, SIGKILL), ::waitpid(pid, nullptr, 0);
  REQUIRE(std::chrono::steady_clock::now() <= deadline);

  // A second run into the same folder fails at once, even with --force, and removes nothing.
  auto second = runNetc(runArgs(dir, "--force"));
  CAPTURE(second.out);
  CHECK(second.status == 1);
  CHECK(second.has(fmt::format("is in use by another netc run (process {})", pid)));
  CHECK_FALSE(second.has("saved in"));

  // Killed at a moment of its own choosing: mid-checkpoint, mid-line or in between.
  std::this_thread::sleep_for(std::chrono::milliseconds(std::chrono::steady_clock::now().time_since_epoch().count() % 37));
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  CHECK(WIFSIGNALED(st));

  CHECK(loadSafetensors((dir / "weights.safetensors").string()).size() == 5);
  std::vector<std::string> losses = readCompleteLines((dir / "losses.csv").string());
  REQUIRE(losses.size() > 40);
  CHECK(losses[0] == "step,loss,lr");
  for (size_t i = 1; i < losses.size(); ++i) {
    CHECK(losses[i].rfind(fmt::format("{},", i - 1), 0) == 0);
    CHECK(std::count(losses[i].begin(), losses[i].end(), ',') == 2);
  }
  std::vector<StatsSnapshot> stats = readStatsLog((dir / "stats.jsonl").string());
  CHECK(stats.size() >= 2);

  // What a kill mid-write leaves, made certain: partial last lines and temporaries of dead writers.
  writeFile(dir / "losses.csv", "999999,3.1", std::ios::app);
  writeFile(dir / "stats.jsonl", "{\"step\": 99", std::ios::app);
  writeFile(dir / ".weights.safetensors.tmpDead01", "half a file");
  writeFile(dir / "report.html.tmp", "<html");
  CHECK(readCompleteLines((dir / "losses.csv").string()).size() >= losses.size());
  CHECK(readStatsLog((dir / "stats.jsonl").string()).size() >= stats.size());

  // The next open (resuming from the killed run's weights) removes netc's stale temporaries and starts clean;
  // "report.html.tmp" is not a name netc writes (any more), so it may be the user's and stays.
  auto next = runNetc(runArgs(dir, "--force --init-from " + (dir / "weights.safetensors").string()));
  CAPTURE(next.out);
  CHECK(next.status == 0);
  CHECK(temporariesIn(dir) == std::vector<std::string>{"report.html.tmp"});
  CHECK(readCompleteLines((dir / "losses.csv").string()).size() == 4);  // the header and 3 steps
}

TEST_CASE("full disk (a small tmpfs, as root): every run either saves everything or says what it could not write") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: mounting a tmpfs needs root");
    return;
  }
  fs::path mnt = scratch("tmpfs");
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    MESSAGE("skipped: cannot mount a tmpfs here: " << std::strerror(errno));
    return;
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  auto freeBytes = [&] {
    struct statvfs v {};
    ::statvfs(mnt.c_str(), &v);
    return static_cast<int64_t>(v.f_bavail) * static_cast<int64_t>(v.f_frsize);
  };
  // Leaves `free` bytes (to the page) free on the tmpfs by writing a filler file.
  auto fillTo = [&](int64_t free) {
    fs::remove(mnt / "fill");
    int64_t n = std::max<int64_t>(0, freeBytes() - free);
    int fd = ::open((mnt / "fill").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::string chunk(4096, 'x');
    for (int64_t done = 0; done < n;) {
      ssize_t w = ::write(fd, chunk.data(), static_cast<size_t>(std::min<int64_t>(n - done, 4096)));
      if (w <= 0) break;
      done += w;
    }
    ::close(fd);
  };
  const int64_t capacity = freeBytes();
  auto full = runNetc(runArgs(mnt / "run"));
  CAPTURE(full.out);
  REQUIRE(full.status == 0);
  const int64_t needs = capacity - freeBytes();
  fs::remove_all(mnt / "run");

  int saved = 0, refused = 0;
  for (int64_t free = 0; free <= needs + 64 * 1024; free += 8 * 1024) {
    fs::remove_all(mnt / "run");
    fillTo(free);
    auto r = runNetc(runArgs(mnt / "run"));
    CAPTURE(free);
    CAPTURE(r.out);
    if (r.status == 0) {
      ++saved;
      CHECK(r.has("saved in"));
      CHECK(readCompleteLines((mnt / "run" / "losses.csv").string()).size() == 4);
      CHECK(readCompleteLines((mnt / "run" / "samples.txt").string()).size() == 20);
      CHECK(nlohmann::json::parse(readFile(mnt / "run" / "result.json"))["steps_done"] == 3);
      CHECK(loadSafetensors((mnt / "run" / "weights.safetensors").string()).size() == 5);
      CHECK(readStatsLog((mnt / "run" / "stats.jsonl").string()).size() == 2);
      CHECK(fs::file_size(mnt / "run" / "report.html") > 1000);
    } else {
      ++refused;
      CHECK(r.status == 1);
      CHECK(r.has(fmt::format("cannot write '{}/run/", mnt.string())));
      CHECK(r.has("No space left on device"));
      CHECK_FALSE(r.has("saved in"));
    }
    CHECK(temporariesIn(mnt / "run").empty());
  }
  CHECK(saved > 0);
  CHECK(refused > 0);

  // netc init and netc grad on a full disk: an error naming the file, nothing left behind.
  fs::remove_all(mnt / "run");
  fillTo(0);
  auto init = runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, (mnt / "w.safetensors").string()));
  CAPTURE(init.out);
  CHECK(init.status == 1);
  CHECK(init.has(fmt::format("cannot write '{}': No space left on device", (mnt / "w.safetensors").string())));
  CHECK_FALSE(fs::exists(mnt / "w.safetensors"));
  CHECK(temporariesIn(mnt).empty());
}
