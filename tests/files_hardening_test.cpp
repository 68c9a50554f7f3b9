// What netc writes, follows and deletes (runtime/files/atomic_file.h, runtime/runs/run_folder.h, runtime/runs/run_history.h):
// a device or FIFO named as an output stays one (written in place), a link planted among netc's own files is
// never followed, only netc's own temporaries are removed, a resumed run keeps its whole history and always
// has its weights, and --progress-file never lands on an input.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "runtime/files/atomic_file.h"
#include "runtime/runs/run_folder.h"
#include "runtime/runs/run_history.h"
#include "runtime/probes/stats.h"
#include "run_netc.h"
#include "test_util.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::errorOf;
using netc::testing::runNetc;
using netc::testing::ScratchDir;
namespace fs = std::filesystem;

using netc::testing::readFile;
using netc::testing::writeFile;

namespace {

const std::string kModel = NETC_SOURCE_DIR "/models/mlp_kaiming.net";
const std::string kData = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

std::vector<std::string> lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

bool isCharDevice(const fs::path& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}

bool isFifo(const fs::path& p) {
  struct stat st{};
  return ::lstat(p.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}

// A short run on the synthetic words (the JIT, one thread: bit-exact between runs).
std::string runArgs(const fs::path& out, int steps, const std::string& extra = "", const std::string& data = kData) {
  return fmt::format("run {} --data {} --steps {} --batch 8 --threads 1 --quiet --set train.log_every=50 "
                     "--set train.eval_every=100 --set train.probe_every=50 --out {} {}",
                     kModel, data, steps, out.string(), extra);
}

void checkError(const CommandResult& r, int status, const std::string& message) {
  CAPTURE(r.out);
  CHECK(r.status == status);
  CHECK(r.has("netc: error: "));
  CHECK(r.has(message));
  CHECK_FALSE(r.has("internal error"));
}

}  // namespace

TEST_CASE("files: an output that is a character device or a FIFO is written in place and stays one") {
  ScratchDir dir("netc_files_dev_");
  // A FIFO with a reader gets the file's bytes; the FIFO is still there afterwards (it used to be renamed over).
  // The reader never blocks (O_NONBLOCK), so the test ends whatever netc does with the path.
  const fs::path fifo = dir.path() / "out.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const int readEnd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(readEnd >= 0);
  std::atomic<bool> finished = false;
  std::string got;
  std::thread reader([&] {
    char buf[4096];
    for (bool last = false; !last;) {
      last = finished;  // one more pass after netc ended: what it wrote last
      for (ssize_t n; (n = ::read(readEnd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  CommandResult init = runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, fifo.string()));
  finished = true;
  reader.join();
  ::close(readEnd);
  CAPTURE(init.out);
  CHECK(init.status == 0);
  CHECK(isFifo(fifo));
  CHECK(got.size() > 8);
  CHECK(got.find("\"W1\"") != std::string::npos);  // the safetensors header
  // Nobody reading: an error at once, not a hang, and the FIFO stays.
  CommandResult noReader = runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, fifo.string()));
  checkError(noReader, 1, "nothing reads it");
  CHECK(isFifo(fifo));

  // A directory, or a link to a regular file, is refused; the file the link names is not touched.
  checkError(runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, dir.path().string())), 1, "it is a directory");
  const fs::path target = dir.path() / "target.txt", link = dir.path() / "link.safetensors";
  writeFile(target, "mine");
  fs::create_symlink(target, link);
  checkError(runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, link.string())), 1,
             "it is a symbolic link to a file");
  CHECK(fs::is_symlink(link));
  CHECK(readFile(target) == "mine");

  // Device nodes of our own (root only), with /dev/null's and /dev/full's numbers, so the real ones are never at
  // stake: init writes into the first and the second says why it cannot; both stay devices.
  if (::geteuid() != 0) return;
  const fs::path null = dir.path() / "null", full = dir.path() / "full";
  REQUIRE(::mknod(null.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
  REQUIRE(::mknod(full.c_str(), S_IFCHR | 0666, makedev(1, 7)) == 0);
  CommandResult toNull = runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, null.string()));
  CAPTURE(toNull.out);
  CHECK(toNull.status == 0);
  CHECK(isCharDevice(null));
  checkError(runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, full.string())), 1,
             fmt::format("cannot write '{}': No space left on device", full.string()));
  CHECK(isCharDevice(full));
  // The same through a link (as /dev/stdout is one).
  const fs::path toDevice = dir.path() / "stdout";
  fs::create_symlink(null, toDevice);
  CHECK(runNetc(fmt::format("init {} --data {} --out {}", kModel, kData, toDevice.string())).status == 0);
  CHECK(fs::is_symlink(toDevice));
  CHECK(isCharDevice(null));
}

TEST_CASE("files: netc's own files are never opened through a link, nor written over a device") {
  ScratchDir dir("netc_files_own_");
  const fs::path outside = dir.path() / "outside.txt";
  writeFile(outside, "precious\n");
  auto planted = [&](const fs::path& at) {
    fs::create_directories(at.parent_path());
    fs::create_symlink(outside, at);
    return at.string();
  };
  // The appended files and the lock: refused, the file behind the link unchanged (they used to truncate it).
  CHECK(errorOf([&] { AppendFile f(planted(dir.path() / "a" / "losses.csv")); }).find("it is a symbolic link") != std::string::npos);
  CHECK(errorOf([&] { AppendFile f(planted(dir.path() / "b" / "stats.jsonl"), OpenMode::Keep); }).find("symbolic link") !=
        std::string::npos);
  CHECK(readFile(outside) == "precious\n");
  // Whole files in netc's folders: a link there is refused, not replaced and not followed.
  CHECK(errorOf([&] { writeFileAtomically(planted(dir.path() / "c" / "sweep.json"), "{}"); }).find("symbolic link") !=
        std::string::npos);
  CHECK(fs::is_symlink(dir.path() / "c" / "sweep.json"));
  CHECK(readFile(outside) == "precious\n");

  // A run folder shared with someone who planted .netc.lock as a link.
  const fs::path run = dir.path() / "run";
  planted(run / ".netc.lock");
  checkError(runNetc(runArgs(run, 3)), 1, "it is a symbolic link");
  CHECK(readFile(outside) == "precious\n");
  CHECK_FALSE(fs::exists(run / "config.json"));

  // A planted losses.csv with --force: the link itself goes, the file it names stays as it was.
  const fs::path run2 = dir.path() / "run2";
  planted(run2 / "losses.csv");
  CommandResult forced = runNetc(runArgs(run2, 3, "--force --no-stats"));
  CAPTURE(forced.out);
  CHECK(forced.status == 0);
  CHECK(readFile(outside) == "precious\n");
  CHECK_FALSE(fs::is_symlink(run2 / "losses.csv"));
  CHECK(lines(run2 / "losses.csv").size() == 4);
  // Resuming in place keeps the folder's files, so a link planted among them is refused, not followed.
  fs::remove(run2 / "evals.csv");
  planted(run2 / "evals.csv");
  checkError(runNetc(runArgs(run2, 5, fmt::format("--no-stats --resume --init-from {}", (run2 / "weights.safetensors").string()))),
             1, "is not a regular file");
  CHECK(readFile(outside) == "precious\n");

  // --progress-file (netc sweep's logs/NAME.progress) planted as a link: refused, not followed.
  const fs::path progress = dir.path() / "logs" / "r.progress";
  planted(progress);
  checkError(runNetc(runArgs(dir.path() / "run3", 3, "--no-stats --progress-file " + progress.string())), 1,
             "it is a symbolic link");
  CHECK(readFile(outside) == "precious\n");
}

TEST_CASE("files: only netc's own temporaries are removed, and only from a folder it accepted") {
  ScratchDir dir("netc_files_tmp_");
  const fs::path run = dir.path() / "run";
  REQUIRE(runNetc(runArgs(run, 3, "--no-stats")).status == 0);
  const std::vector<std::string> mine = {"model.tmp", "notes.tmp", "report.html.tmp", ".data.txt.tmpAb12Cd"};
  for (const std::string& f : mine) writeFile(run / f, "the user's " + f);
  writeFile(run / ".weights.safetensors.tmpQw12Er", "a killed writer's");

  // Refused (it holds a run): nothing is removed at all, not even netc's own stale temporary.
  checkError(runNetc(runArgs(run, 3, "--no-stats")), 1, "holds the results of another run");
  for (const std::string& f : mine) CHECK_MESSAGE(readFile(run / f) == "the user's " + f, f);
  CHECK(fs::exists(run / ".weights.safetensors.tmpQw12Er"));

  // --force: the run's files and netc's own stale temporary go, the user's files stay.
  CommandResult forced = runNetc(runArgs(run, 3, "--no-stats --force"));
  CAPTURE(forced.out);
  CHECK(forced.status == 0);
  for (const std::string& f : mine) CHECK_MESSAGE(readFile(run / f) == "the user's " + f, f);
  CHECK_FALSE(fs::exists(run / ".weights.safetensors.tmpQw12Er"));
}

TEST_CASE("files: the README's resume recipe keeps the whole history and the weights at every moment") {
  ScratchDir dir("netc_files_resume_");
  // Without probes for the comparison with an uninterrupted run: a probed step's update is not bit-exact
  // with a plain one's, and the first part's last step is probed, so with probes the losses differ in the
  // 6th digit (a matter of the probe engine, not of the history kept here).
  const fs::path whole = dir.path() / "whole", run = dir.path() / "run";
  REQUIRE(runNetc(runArgs(whole, 400, "--no-stats")).status == 0);
  CommandResult first = runNetc(runArgs(run, 200));
  CAPTURE(first.out);
  REQUIRE(first.status == 0);
  const std::string weights = (run / "weights.safetensors").string();

  // The recipe, watched by inotify: the weights file is never deleted (it used to be, and written again a few
  // milliseconds later), only replaced by rename (a rename over it is no IN_DELETE of its name).
  const int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(::inotify_add_watch(watch, run.c_str(), IN_DELETE | IN_MOVED_TO) >= 0);
  CommandResult resumed = runNetc(runArgs(run, 400, fmt::format("--init-from {} --resume --force", weights)));
  CAPTURE(resumed.out);
  REQUIRE(resumed.status == 0);
  std::vector<std::string> deleted, replaced;
  alignas(inotify_event) char events[1 << 16];
  for (ssize_t n; (n = ::read(watch, events, sizeof events)) > 0;)
    for (char* at = events; at < events + n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(at);
      if (e->len > 0) ((e->mask & IN_DELETE) ? deleted : replaced).push_back(e->name);
      at += sizeof(inotify_event) + e->len;
    }
  ::close(watch);
  CAPTURE(fmt::format("deleted: {}", fmt::join(deleted, " ")));
  CHECK(std::count(deleted.begin(), deleted.end(), "weights.safetensors") == 0);
  CHECK(std::count(replaced.begin(), replaced.end(), "weights.safetensors") > 0);  // the watch saw the run

  // One history from step 0: the lines up to step 200 kept, the resumed ones appended.
  auto firstFields = [](const std::vector<std::string>& ls, size_t fields) {
    std::vector<std::string> out;
    for (const std::string& l : ls) {
      size_t at = 0;
      for (size_t f = 0; f < fields && at != std::string::npos; ++f) at = l.find(',', at + 1);
      out.push_back(l.substr(0, at));
    }
    return out;
  };
  std::vector<std::string> losses = lines(run / "losses.csv");
  REQUIRE(losses.size() == 401);  // header + steps 0..399
  for (int i = 0; i < 400; ++i) CHECK(firstFields({losses[i + 1]}, 1)[0] == std::to_string(i));
  // evals.csv: after 100, 200 (the first part's end), 300 and 400 updates, as the uninterrupted run.
  CHECK(firstFields(lines(run / "evals.csv"), 2) == firstFields(lines(whole / "evals.csv"), 2));
  // stats.jsonl: the first part's collections (step 0 on) and the resumed part's, each step once, in order.
  std::vector<StatsSnapshot> stats = readStatsLog((run / "stats.jsonl").string());
  REQUIRE(stats.size() >= 4);
  CHECK(stats.front().step == 0);
  CHECK(stats.back().step == 399);
  bool increasing = true;
  for (size_t i = 1; i < stats.size(); ++i) increasing = increasing && stats[i].step > stats[i - 1].step;
  CHECK(increasing);
  CHECK(std::any_of(stats.begin(), stats.end(), [](const StatsSnapshot& s) { return s.step == 150; }));
  // The report is drawn from the whole history: it holds step 0's collection and the step-0 diagnoses.
  const std::string report = readFile(run / "report.html");
  CHECK(report.find("\"first_step\":0,") != std::string::npos);
  CHECK(report.find("\"last_step\":399") != std::string::npos);
  nlohmann::json result = nlohmann::json::parse(readFile(run / "result.json"));
  CHECK(result["steps_done"] == 400);

  // Without probes the resumed folder holds exactly the uninterrupted run's history, also when the run was
  // killed after its last checkpoint and went on past it: what it wrote after the checkpoint is dropped on
  // resuming (here: losses.csv's lines of steps 300..349 and a partial line, as a kill leaves them).
  const fs::path killed = dir.path() / "killed";
  REQUIRE(runNetc(runArgs(killed, 300, "--no-stats")).status == 0);
  {
    std::ofstream extra(killed / "losses.csv", std::ios::app);
    for (int i = 300; i < 350; ++i) extra << i << ",9.99,0.1\n";
    extra << "350,9.9";
  }
  fs::remove(killed / "result.json");
  CommandResult again = runNetc(runArgs(killed, 400, fmt::format("--no-stats --init-from {}/weights.safetensors --resume",
                                                                   killed.string())));
  CAPTURE(again.out);
  REQUIRE(again.status == 0);
  CHECK(lines(killed / "losses.csv") == lines(whole / "losses.csv"));
  CHECK(lines(killed / "evals.csv") == lines(whole / "evals.csv"));
}

TEST_CASE("files: --init-from the folder's own weights with --force keeps them until they are replaced") {
  ScratchDir dir("netc_files_keep_");
  const fs::path run = dir.path() / "run";
  REQUIRE(runNetc(runArgs(run, 3, "--no-stats")).status == 0);
  const std::string weights = (run / "weights.safetensors").string();
  {
    RunFolder folder(run.string(), {true, {}, weights, -1});
    CHECK(fs::exists(weights));  // still there: the run's first checkpoint replaces it by rename
    CHECK_FALSE(fs::exists(run / "config.json"));
    CHECK_FALSE(folder.continuesHistory());
  }
  {
    // Resumed at 0: the run above left losses.csv with its header only (resuming at 3 would be refused: the
    // lines of steps 0 to 2 are gone).
    RunFolder folder(run.string(), {false, {}, weights, 0});
    CHECK(folder.continuesHistory());
    CHECK(fs::exists(weights));
  }
}

TEST_CASE("files: --progress-file may not be an input of the run, nor one of its files") {
  ScratchDir dir("netc_files_progress_");
  const fs::path data = dir.path() / "words.txt";
  fs::copy_file(kData, data);
  const std::string before = readFile(data);
  checkError(runNetc(runArgs(dir.path() / "run", 3, "--progress-file " + data.string(), data.string())),
             1, "--progress-file '" + data.string() + "' is the same file as the data file");
  CHECK(readFile(data) == before);
  CHECK_FALSE(fs::exists(dir.path() / "run"));
  checkError(runNetc(runArgs(dir.path() / "run", 3, "--progress-file " + kModel)), 1, "is the same file as the model file");
  checkError(runNetc(runArgs(dir.path() / "run", 3, "--progress-file " + (dir.path() / "run" / "losses.csv").string())), 1,
             "is the same file as the run file");

  // netc sweep: a run's logs/NAME.progress (and logs/NAME.log) over the data file is refused before any run
  // starts (the child used to empty the data file as it started).
  const fs::path sweep = dir.path() / "sweep";
  for (const char* kind : {".progress", ".log"}) {
    const fs::path inLogs = sweep / "logs" / (std::string("000-lr=0.1") + kind);
    fs::create_directories(inLogs.parent_path());
    fs::copy_file(kData, inLogs, fs::copy_options::overwrite_existing);
    checkError(runNetc(fmt::format("sweep {} --data {} --set train.lr=0.1,0.05 --steps 3 --quiet --out {}", kModel,
                                   inLogs.string(), sweep.string())),
               1, "is the same file as the data file");
    CHECK(readFile(inLogs) == before);
  }
}

TEST_CASE("files: resuming trims a long history from its end, partial lines included") {
  ScratchDir dir("netc_files_trim_");
  const fs::path d = dir.path();
  // Longer than the first piece read from the end (64 KiB), with the kept part ending far before it.
  std::string losses = "step,loss,lr\n", evals = "done,split,loss\n";
  for (int i = 0; i < 20000; ++i) losses += fmt::format("{},{:.6g},0.1\n", i, 3.0 - i * 1e-4);
  for (int i = 100; i <= 20000; i += 100) evals += fmt::format("{},train,2.5\n{},dev,2.6\n", i, i);
  writeFile(d / "losses.csv", losses + "20000,2.99");  // a partial last line, as a kill leaves it
  writeFile(d / "evals.csv", evals);
  writeFile(d / "result.json", "{}");
  keepHistoryBefore(d.string(), 4000);
  std::vector<std::string> kept = lines(d / "losses.csv");
  REQUIRE(kept.size() == 4001);
  CHECK(kept.front() == "step,loss,lr");
  CHECK(kept.back().rfind("3999,", 0) == 0);
  std::vector<std::string> keptEvals = lines(d / "evals.csv");
  REQUIRE(keptEvals.size() == 1 + 2 * 40);
  CHECK(keptEvals.back() == "4000,dev,2.6");
  CHECK_FALSE(fs::exists(d / "result.json"));
  CHECK_FALSE(fs::exists(d / "stats.jsonl"));  // not made up when the earlier run had none
  CHECK(readLossHistory(d.string()).size() == 4000);
  CHECK(readDevHistory(d.string()).size() == 40);
  // Everything after the header goes when resuming at 0; a file that is not there starts with its header.
  fs::remove(d / "evals.csv");
  keepHistoryBefore(d.string(), 0);
  CHECK(lines(d / "losses.csv") == std::vector<std::string>{"step,loss,lr"});
  CHECK(lines(d / "evals.csv") == std::vector<std::string>{"done,split,loss"});
  // A line with no newline longer than the first piece: read in bigger ones, and dropped.
  writeFile(d / "losses.csv", "step,loss,lr\n0,3.3,0.1\n1," + std::string(200000, '9'));
  keepHistoryBefore(d.string(), 1);
  CHECK(lines(d / "losses.csv") == std::vector<std::string>{"step,loss,lr", "0,3.3,0.1"});
}

TEST_CASE("files: resuming a finished run evaluates its weights again in place of the recorded evaluation") {
  ScratchDir dir("netc_files_resume_finished_");
  const fs::path run = dir.path() / "run", weights = run / "weights.safetensors";
  // runArgs' settings, evaluating every 10 steps.
  auto args = [&](int steps, const std::string& extra) {
    std::string a = runArgs(run, steps, extra);
    return a.replace(a.find("eval_every=100"), 14, "eval_every=10");
  };
  REQUIRE(runNetc(args(20, "")).status == 0);
  const std::string losses = readFile(run / "losses.csv"), evals = readFile(run / "evals.csv"),
                    stats = readFile(run / "stats.jsonl");
  REQUIRE(lines(run / "evals.csv").size() == 5);  // header, then train and dev after 10 and after 20 steps
  // Nothing is left to train: the run writes the evaluation after 20 steps again, which replaces the recorded
  // one (the same numbers: one thread, the same weights), and the history reads as the finished run's.
  auto resumed = runNetc(args(20, "--init-from " + weights.string() + " --resume"));
  CAPTURE(resumed.out);
  REQUIRE(resumed.status == 0);
  CHECK(readFile(run / "evals.csv") == evals);
  CHECK(readFile(run / "losses.csv") == losses);
  CHECK(readFile(run / "stats.jsonl") == stats);
  CHECK(fs::exists(run / "result.json"));
  // Going on from there (a longer run), the evaluation after 20 steps is not made again: it stays, once.
  resumed = runNetc(args(30, "--init-from " + weights.string() + " --resume"));
  CAPTURE(resumed.out);
  REQUIRE(resumed.status == 0);
  const std::vector<std::string> after = lines(run / "evals.csv");
  REQUIRE(after.size() == 7);
  CHECK(std::count_if(after.begin(), after.end(), [](const std::string& l) { return l.rfind("20,", 0) == 0; }) == 2);
  CHECK(after[5].rfind("30,train,", 0) == 0);
  CHECK(lines(run / "losses.csv").size() == 31);
}

TEST_CASE("files: resuming refuses a losses.csv cut short or edited, before anything is written") {
  ScratchDir dir("netc_files_resume_cut_");
  const fs::path run = dir.path() / "run", weights = run / "weights.safetensors", lossFile = run / "losses.csv";
  REQUIRE(runNetc(runArgs(run, 20)).status == 0);
  const std::string losses = readFile(lossFile), evals = readFile(run / "evals.csv"), result = readFile(run / "result.json");
  const size_t lastLine = losses.rfind('\n', losses.size() - 2) + 1;  // where the line of step 19 begins
  REQUIRE(losses.substr(lastLine, 3) == "19,");
  const std::string resume = runArgs(run, 20, "--init-from " + weights.string() + " --resume");
  struct Cut {
    const char* what;
    std::string text;
    const char* says;
  };
  for (const Cut& cut : {Cut{"the last line cut in the middle", losses.substr(0, losses.size() - 4), "'18,"},
                         Cut{"the last line removed", losses.substr(0, lastLine), "'18,"},
                         Cut{"the file cut to half", losses.substr(0, losses.size() / 2), "its last line kept is"},
                         Cut{"a garbage last line", losses.substr(0, lastLine) + "19\n", "'19'"},
                         Cut{"only the header", "step,loss,lr\n", "'step,loss,lr'"}}) {
    CAPTURE(cut.what);
    writeFile(lossFile, cut.text);
    CommandResult r = runNetc(resume);
    checkError(r, 1, fmt::format("'{}' is cut short or edited", lossFile.string()));
    CHECK(r.has(cut.says));
    CHECK(r.has("expected a line 'step,loss,lr' for every step up to 19"));
    // Refused before anything is written: the folder is as it was.
    CHECK(readFile(lossFile) == cut.text);
    CHECK(readFile(run / "evals.csv") == evals);
    CHECK(readFile(run / "result.json") == result);
  }
  fs::remove(lossFile);
  checkError(runNetc(resume), 1, fmt::format("'{}' is cut short or edited: it is missing", lossFile.string()));
  CHECK_FALSE(fs::exists(lossFile));
  // The whole file back, the run resumes; a partial line after the kept ones (a killed writer's) is dropped.
  writeFile(lossFile, losses + "20,2.9");
  CommandResult r = runNetc(resume);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(readFile(lossFile) == losses);
}

TEST_CASE("files: a file netc writes in place is refused when it has a second name (a planted hard link)") {
  ScratchDir scratch("netc_files_hardlink_");
  const fs::path victim = scratch.path() / "victim.txt", out = scratch.path() / "run";
  writeFile(victim, "precious\n");
  fs::create_directories(out);
  fs::create_hard_link(victim, out / ".netc.lock");
  CommandResult r = runNetc("run " + kModel + " --data " + kData + " --steps 3 --no-stats --quiet --out " + out.string());
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("has 2 names (hard links)"));
  CHECK(readFile(victim) == "precious\n");
}

TEST_CASE("files: --force refuses a folder under a run file's name before removing anything") {
  ScratchDir scratch("netc_files_forcedir_");
  const fs::path out = scratch.path() / "run";
  REQUIRE(runNetc("run " + kModel + " --data " + kData + " --steps 3 --no-stats --quiet --out " + out.string()).status == 0);
  fs::remove(out / "samples.txt");
  fs::create_directories(out / "samples.txt");
  writeFile(out / "samples.txt" / "keep", "keep\n");
  const std::string weights = readFile(out / "weights.safetensors");
  CommandResult r = runNetc("run " + kModel + " --data " + kData + " --steps 3 --no-stats --quiet --force --out " + out.string());
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("has a folder named 'samples.txt' where a run writes a file"));
  // Nothing of the earlier run was removed.
  CHECK(readFile(out / "weights.safetensors") == weights);
  CHECK(fs::exists(out / "config.json"));
  CHECK(fs::exists(out / "losses.csv"));
  // --progress-file may not be the run folder's lock either.
  CommandResult lock = runNetc("run " + kModel + " --data " + kData + " --steps 3 --no-stats --quiet --out " +
                               (scratch.path() / "run2").string() + " --progress-file " + (scratch.path() / "run2" / ".netc.lock").string());
  CHECK(lock.status == 1);
  CHECK(lock.has("is the same file as the run folder's lock"));
}
