// netc sweep MODEL.net --set gain=0.5,1,5/3,3 --set train.lr=0.1,0.05: the grid of runs, each one child
// `netc run` into its own folder under the sweep folder, --jobs at a time; sweep.json and compare.html at the
// end. --emit slurm | commands writes the same runs for a cluster or any scheduler instead (sweep_scripts.h).
// A finished run folder is reused only when it records the configuration asked for (sweep_reuse.h); SIGINT,
// SIGTERM or SIGHUP stop every child before the sweep exits, and a child outlives no sweep (PR_SET_PDEATHSIG).
#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "driver/command.h"
#include "driver/sweep_files.h"
#include "driver/sweep_plan.h"
#include "driver/sweep_reuse.h"
#include "driver/sweep_scripts.h"
#include "runtime/files/atomic_file.h"
#include <sys/stat.h>
#include "runtime/pages/compare.h"
#include "runtime/training/progress.h"

extern char** environ;

namespace netc::driver {

namespace {
// The files a sweep writes into its folder, besides logs/ and the run folders.
constexpr const char* kSweepFiles[] = {"sweep.json", "compare.html", "commands.txt", "sweep.sbatch", ".sweep.lock"};
}  // namespace

std::string selfExecutable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail(fmt::format("cannot find the netc executable (/proc/self/exe): {}", ec.message()));
  return p.string();
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The signal that asked the sweep to stop, 0 while none has.
std::atomic<int> gSignal{0};
void onSignal(int sig) { gSignal = sig; }

void catchStopSignals() {
  struct sigaction sa{};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

std::string signalName(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : fmt::format("signal {}", sig);
}

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

// What a child's --progress-file says: "STEP STEPS LOSS".
struct ChildProgress {
  int64_t step = 0, total = 0;
  double loss = 0;
};
std::optional<ChildProgress> lastProgress(const std::string& path) {
  std::ifstream in(path);
  ChildProgress p;
  long long step = 0, total = 0;
  std::string line;
  if (!std::getline(in, line) || std::sscanf(line.c_str(), "%lld %lld %lf", &step, &total, &p.loss) != 3) return std::nullopt;
  p.step = step, p.total = total;
  return p;
}

struct RunState {
  std::string status = "pending";  // pending, running, done, diverged, failed, interrupted
  pid_t pid = -1;
  int exitCode = 0;
  double seconds = 0;
  std::chrono::steady_clock::time_point started;
  std::string error;
  json result;
};

std::string lastLines(const std::string& path, size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

void writeSweepJson(const SweepPlan& p, const std::vector<RunState>& st, const std::string& state) {
  json runs = json::array();
  for (size_t i = 0; i < p.runs.size(); ++i) {
    const SweepRun& r = p.runs[i];
    json settings = json::object();
    for (const auto& s : r.sets) settings[s.substr(0, s.find('='))] = s.substr(s.find('=') + 1);
    json j = {{"index", r.index}, {"name", r.name}, {"folder", r.name}, {"set", r.sets}, {"settings", settings},
              {"status", st[i].status}, {"command", shellLine([&] {
                 std::vector<std::string> a = {"netc"};
                 a.insert(a.end(), r.args.begin(), r.args.end());
                 return a;
               }())}};
    if (st[i].status == "done" || st[i].status == "diverged" || st[i].status == "failed") {
      j["exit_code"] = st[i].exitCode;
      if (st[i].seconds > 0) j["seconds"] = st[i].seconds;
    }
    if (st[i].result.is_object()) {
      j["final"] = st[i].result.value("final", json::object());
      j["initial_loss"] = st[i].result.value("initial_loss", json(nullptr));
      if (st[i].result.contains("divergence")) j["divergence"] = st[i].result["divergence"];
    }
    if (!st[i].error.empty()) j["error"] = st[i].error;
    runs.push_back(j);
  }
  json out = p.identity();
  out["state"] = state;
  out["runs"] = runs;
  writeFileAtomically((fs::path(p.folder) / "sweep.json").string(), out.dump(2) + "\n");
}

std::string bar(double frac, int width) {
  int n = static_cast<int>(std::clamp(frac, 0.0, 1.0) * width + 0.5);
  return std::string(n, '#') + std::string(width - n, '.');
}

// The one progress view: a block of lines redrawn in place on a terminal, else a line per event and a summary
// every 30 s.
class SweepView {
 public:
  SweepView(const SweepPlan& p, int64_t steps, bool quiet)
      : plan_(p), steps_(steps), tty_(!quiet && isatty(STDERR_FILENO)), quiet_(quiet) {}
  void event(const std::string& line) {
    if (quiet_) return;
    if (tty_) erase();
    fmt::print(stderr, "{}\n", line);
    if (tty_) draw();
  }
  void update(const std::vector<RunState>& st) {
    st_ = &st;
    if (quiet_) return;
    const auto now = std::chrono::steady_clock::now();
    if (tty_) {
      if (now - lastDraw_ < std::chrono::milliseconds(500)) return;
      erase(), draw();
    } else if (now - lastDraw_ >= std::chrono::seconds(30)) {
      fmt::print(stderr, "{}\n", summary());
      lastDraw_ = now;
    }
  }
  void finish() {
    if (tty_) erase();
  }

 private:
  std::string summary() const {
    std::map<std::string, int> n;
    for (const auto& s : *st_) n[s.status]++;
    return fmt::format("sweep: {} done, {} running, {} pending, {} diverged, {} failed of {}", n["done"], n["running"],
                       n["pending"], n["diverged"], n["failed"], st_->size());
  }
  void erase() {
    if (drawn_ > 0) fmt::print(stderr, "\x1b[{}F\x1b[J", drawn_);
    drawn_ = 0;
  }
  void draw() {
    if (!st_) return;
    lastDraw_ = std::chrono::steady_clock::now();
    std::string out;
    int lines = 0;
    for (size_t i = 0; i < st_->size(); ++i) {
      const RunState& s = (*st_)[i];
      if (s.status != "running") continue;
      auto l = lastProgress((fs::path(plan_.folder) / "logs" / (plan_.runs[i].name + ".progress")).string());
      double frac = l && l->total > 0 ? static_cast<double>(l->step + 1) / static_cast<double>(l->total) : 0;
      out += fmt::format("  {:<36} [{}] {:3.0f}%  {}\n", plan_.runs[i].name.substr(0, 36), bar(frac, 24), 100 * frac,
                         l ? fmt::format("loss {:.4f}", l->loss) : std::string("compiling"));
      ++lines;
    }
    out += summary() + "\n";
    fmt::print(stderr, "{}", out);
    drawn_ = lines + 1;
  }
  const SweepPlan& plan_;
  int64_t steps_;
  bool tty_, quiet_;
  const std::vector<RunState>* st_ = nullptr;
  int drawn_ = 0;
  std::chrono::steady_clock::time_point lastDraw_{};
};

// Starts one `netc run` child with its output in `logFd`. The child gets SIGTERM when the sweep dies, however
// it dies (PR_SET_PDEATHSIG), so no run goes on training for a sweep that is gone.
pid_t spawnRun(const std::string& exe, const SweepRun& r, int logFd, const std::string& progress) {
  std::vector<std::string> argv = {exe};
  argv.insert(argv.end(), r.args.begin(), r.args.end());
  // For the progress view only: the run itself, and its folder, are those of the recorded command line.
  argv.push_back("--progress-file");
  argv.push_back(progress);
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail(fmt::format("cannot start '{}': {}", exe, std::strerror(errno)));
  if (pid == 0) {
    // The child: only async-signal-safe calls until execve.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the sweep died before the line above took effect
    const int devNull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devNull < 0 || ::dup2(devNull, STDIN_FILENO) < 0 || ::dup2(logFd, STDOUT_FILENO) < 0 ||
        ::dup2(logFd, STDERR_FILENO) < 0)
      ::_exit(127);
    ::execve(exe.c_str(), cargv.data(), environ);
    const char msg[] = "netc sweep: cannot start the netc executable\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  return pid;
}

// The runs as the sweep finds them before it starts anything: finished runs of this configuration reused,
// everything else to do. Refuses a folder where a run is still going elsewhere, and (without --force) one
// holding a finished run of another configuration.
struct Inventory {
  std::vector<RunState> st;
  std::vector<int> todo;  // plan indices of the runs to (re)run
  int reused = 0, redone = 0;
};

Inventory takeInventory(const SweepPlan& plan, bool force) {
  Inventory inv;
  inv.st.resize(plan.runs.size());
  std::vector<std::string> busy, other;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const std::string folder = (fs::path(plan.folder) / plan.runs[i].name).string();
    // A run folder is the sweep's own: a link planted under its name (to another run, to a victim's folder)
    // would make the run, or --force, write through it.
    struct stat st{};
    if (::lstat(folder.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      fail(fmt::format("'{}' is {}: a sweep writes its runs only into folders of its own, never through a link; "
                       "remove it, or sweep into another folder", printable(folder),
                       S_ISLNK(st.st_mode) ? "a symbolic link, not a folder" : "not a folder"));
    FoundRun f = inspectRunFolder(folder, expectedRepeat(plan, plan.runs[i]));
    switch (f.state) {
      case FoundRun::RunningElsewhere:
        busy.push_back(fmt::format("'{}' ({})", folder, f.difference));
        break;
      case FoundRun::Reusable:
        inv.st[i].status = f.status, inv.st[i].result = f.result, ++inv.reused;
        break;
      case FoundRun::OtherConfiguration:
        if (!force) other.push_back(fmt::format("'{}' ({})", folder, f.difference));
        ++inv.redone, inv.todo.push_back(static_cast<int>(i));
        break;
      case FoundRun::Unfinished:
        inv.todo.push_back(static_cast<int>(i));
        break;
    }
  }
  auto more = [](const std::vector<std::string>& v) {
    return v.size() > 1 ? fmt::format(" and {} more", v.size() - 1) : std::string();
  };
  if (!busy.empty())
    fail(fmt::format("the run folder {}{} is in use by a netc run still going (an earlier sweep's child, or a run "
                     "started by hand): wait for it to end or stop it, then run the sweep again",
                     busy.front(), more(busy)));
  if (!other.empty())
    fail(fmt::format("the run folder {}{} holds a finished run of another configuration: a sweep reuses a finished "
                     "run only when its config.json records the model, --set values, --data and options asked for; "
                     "use another --out, or --force to run it again",
                     other.front(), more(other)));
  return inv;
}

// For --emit: the statuses the folder's sweep.json recorded for runs that are not finished (a failed run's
// exit code and log), so that writing the scripts again loses nothing it knew.
void keepRecordedStatuses(const json& previous, const SweepPlan& plan, const std::vector<int>& todo,
                          std::vector<RunState>& st) {
  if (!previous.is_object() || !previous.contains("runs") || !previous["runs"].is_array()) return;
  std::map<std::string, const json*> byName;
  for (const json& r : previous["runs"])
    if (r.is_object() && r.value("name", json()).is_string()) byName[r["name"].get<std::string>()] = &r;
  for (int i : todo) {
    auto it = byName.find(plan.runs[static_cast<size_t>(i)].name);
    if (it == byName.end()) continue;
    const json& r = *it->second;
    const std::string status = r.value("status", json()).is_string() ? r["status"].get<std::string>() : "";
    RunState& s = st[static_cast<size_t>(i)];
    // A "running" entry is a sweep that was killed before it could say so.
    if (status == "failed" || status == "interrupted" || status == "running")
      s.status = status == "running" ? "interrupted" : status;
    if (r.value("exit_code", json()).is_number_integer()) s.exitCode = r["exit_code"].get<int>();
    if (r.value("error", json()).is_string()) s.error = r["error"].get<std::string>();
  }
}

int emitScripts(const SweepOptions& o, const SweepPlan& plan, const std::string& exe, Inventory& inv,
                const json& previous) {
  keepRecordedStatuses(previous, plan, inv.todo, inv.st);
  writeSweepJson(plan, inv.st, inv.todo.empty() ? "finished" : "planned");
  if (inv.todo.empty()) {
    fmt::print("all {} runs of {} finished already; nothing to emit\n", plan.runs.size(), printable(plan.folder));
    return 0;
  }
  const std::string reused = inv.reused ? fmt::format(" ({} finished before, left out)", inv.reused) : "";
  if (o.emit == "commands") {
    const std::string lines = commandLines(plan, exe, inv.todo);
    writeFileAtomically((fs::path(plan.folder) / "commands.txt").string(), lines);
    fmt::print("{}", lines);
    if (inv.reused) fmt::print(stderr, "sweep: {} of {} runs to do{}\n", inv.todo.size(), plan.runs.size(), reused);
    return 0;
  }
  checkSlurmFolder(plan.folder);
  const std::string script = (fs::path(plan.folder) / "sweep.sbatch").string();
  writeFileAtomically(script, slurmScript(plan, exe, inv.todo));
  markExecutable(script);
  fmt::print("wrote {} ({} array task{}{}); submit with: sbatch {}\nthen: netc compare {}\n", script, inv.todo.size(),
             inv.todo.size() == 1 ? "" : "s", reused, shellQuote(script), shellQuote(plan.folder));
  return 0;
}

int sweepCommand(SweepOptions o) {
  if (o.sets.empty() && o.runs.empty()) usageFail("netc sweep needs --set NAME=V1,V2,... or --run \"NAME=V;NAME=V\"");
  const std::string folder = !o.out.empty() ? o.out
                                            : (fs::path("sweeps") / (fs::path(o.model).stem().string() + "-" + timestamp())).string();
  SweepPlan plan = makePlan(o, folder);
  if (o.emit == "slurm") checkSlurmFolder(plan.folder);
  // Every run's settings are checked here, as the file would be, before anything starts.
  int64_t steps = 0;
  for (const SweepRun& r : plan.runs) {
    ModelOptions mo;
    mo.model = o.model;
    mo.data = o.data;
    mo.sets = r.sets;
    Model m = mo.load();
    // The sweep's own files and a run's log and progress files are written over: none may be the model or
    // the data a run reads.
    const std::vector<CommandInput> inputs = {{"the model file", o.model}, {"the data file", m.data.path}};
    for (const char* name : kSweepFiles) refuseToOverwriteInput("the sweep's file", (fs::path(plan.folder) / name).string(), inputs);
    for (const char* kind : {".log", ".progress"})
      refuseToOverwriteInput("the run's file", (fs::path(plan.folder) / "logs" / (r.name + kind)).string(), inputs);
    steps = std::max(steps, o.steps ? *o.steps : m.train.steps);
    if (o.batch) checkBatchFlag(m.graph, *o.batch);
  }
  const std::string exe = selfExecutable();
  // The path netc is installed under reaches the scripts and every child's command line.
  if (std::string problem = scriptValueProblem(exe); !problem.empty())
    fail(fmt::format("the netc executable's path '{}' contains {}: it cannot be written into a sweep's scripts "
                     "safely; install netc elsewhere", printable(exe), problem));
  fs::create_directories(plan.folder);
  const OwnFolder logs((fs::path(plan.folder) / "logs").string());
  // One sweep at a time in a folder.
  lockSweepFolder(plan.folder);
  // The sweep's files are replaced at the end by rename, which refuses a link or anything but a file there:
  // checked now, so a planted link does not cost every run's training first.
  for (const char* name : kSweepFiles) {
    struct stat st{};
    const std::string path = (fs::path(plan.folder) / name).string();
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      fail(fmt::format("'{}' is not a regular file (a link, folder or device): a sweep replaces its own files and "
                       "never writes through a link; remove it, or use another --out", printable(path)));
  }
  json previous = readRegularJsonFile((fs::path(plan.folder) / "sweep.json").string());
  bool sameSweep = false;
  if (previous.is_object()) {
    json prevId = {{"model", previous.value("model", json())}, {"axes", previous.value("axes", json())},
                   {"options", previous.value("options", json())}};
    if (previous.contains("listed")) prevId["listed"] = previous["listed"];
    sameSweep = prevId == plan.identity();
    if (!sameSweep && !o.force)
      fail(fmt::format("{} holds another sweep (a different model, grid or options in its sweep.json); use another "
                       "--out, or --force to run this one there", plan.folder));
  }

  Inventory inv = takeInventory(plan, o.force);
  // Only this sweep's own record says anything about its runs.
  if (!o.emit.empty()) return emitScripts(o, plan, exe, inv, sameSweep ? previous : json());
  std::vector<RunState>& st = inv.st;
  auto logName = [&](size_t i) { return plan.runs[i].name + ".log"; };
  auto progressName = [&](size_t i) { return plan.runs[i].name + ".progress"; };
  // Refused before any run starts, rather than halfway through the sweep.
  for (int i : inv.todo) logs.checkName(logName(static_cast<size_t>(i))), logs.checkName(progressName(static_cast<size_t>(i)));

  const int jobs = o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  SweepView view(plan, steps, o.quiet);
  if (!o.quiet)
    fmt::print(stderr, "sweep: {} runs ({} finished before{}), {} at a time -> {}\n", plan.runs.size(), inv.reused,
               inv.redone ? fmt::format(", {} of another configuration to run again", inv.redone) : "", jobs,
               plan.folder);
  writeSweepJson(plan, st, "running");
  catchStopSignals();
  std::map<pid_t, size_t> running;
  size_t next = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point stopAt{};
  bool stopping = false, killed = false;
  while (true) {
    while (!gSignal && static_cast<int>(running.size()) < jobs && next < inv.todo.size()) {
      const size_t i = static_cast<size_t>(inv.todo[next++]);
      const std::string progress = logs.pathOf(progressName(i));
      // Both are the sweep's own files: made anew, never written through a link someone planted.
      ::close(logs.createFile(progressName(i)));
      const int logFd = logs.createFile(logName(i));
      st[i].pid = spawnRun(exe, plan.runs[i], logFd, progress);
      ::close(logFd);
      st[i].status = "running";
      st[i].started = std::chrono::steady_clock::now();
      running[st[i].pid] = i;
    }
    if (running.empty()) break;
    if (gSignal && !stopping) {
      stopping = true, stopAt = std::chrono::steady_clock::now();
      view.event(fmt::format("sweep: {} received: stopping {} running run{}", signalName(gSignal), running.size(),
                             running.size() == 1 ? "" : "s"));
      for (auto& [p, i] : running) ::kill(p, SIGTERM);
    }
    // A run that ignores SIGTERM for 10 s is killed: the sweep must end when asked.
    if (stopping && !killed && std::chrono::steady_clock::now() - stopAt > std::chrono::seconds(10)) {
      killed = true;
      for (auto& [p, i] : running) ::kill(p, SIGKILL);
    }
    int wstatus = 0;
    pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      size_t i = running[pid];
      running.erase(pid);
      RunState& s = st[i];
      s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
      s.exitCode = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
      const std::string runDir = (fs::path(plan.folder) / plan.runs[i].name).string();
      const std::string log = logs.pathOf(logName(i));
      FoundRun fin = inspectRunFolder(runDir, expectedRepeat(plan, plan.runs[i]));
      if (fin.state == FoundRun::Reusable) s.status = fin.status, s.result = fin.result;
      else s.status = gSignal ? "interrupted" : "failed";
      if (s.status != "done") s.error = lastLines(log, 4);
      std::string what = s.status == "done"
                             ? fmt::format("dev {:.4f}", s.result.value("final", json::object()).value("dev", NAN))
                             : s.status == "diverged" ? s.result.value("divergence", std::string("diverged"))
                                                      : fmt::format("exit {}, see {}", s.exitCode, log);
      view.event(fmt::format("{} {} in {:.1f} s: {}", plan.runs[i].name, s.status, s.seconds, what));
      writeSweepJson(plan, st, "running");
      continue;
    }
    view.update(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  view.finish();
  const int stopSignal = gSignal;
  for (auto& s : st)
    if (s.status == "pending" && stopSignal) s.status = "interrupted";
  writeSweepJson(plan, st, stopSignal ? "interrupted" : "finished");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, int> n;
  for (auto& s : st) n[s.status]++;
  std::vector<std::string> dirs;
  for (size_t i = 0; i < plan.runs.size(); ++i)
    if (fs::exists(fs::path(plan.folder) / plan.runs[i].name / "config.json"))
      dirs.push_back((fs::path(plan.folder) / plan.runs[i].name).string());
  const std::string page = (fs::path(plan.folder) / "compare.html").string();
  if (!dirs.empty())
    for (const std::string& why : writeComparePage(dirs, page).leftOut) fmt::print(stderr, "netc: warning: {}\n", why);  // made printable where it was written
  fmt::print("sweep of {} runs in {:.1f} s: {} done, {} diverged, {} failed{}\n", plan.runs.size(), secs, n["done"],
             n["diverged"], n["failed"], n["interrupted"] ? fmt::format(", {} interrupted", n["interrupted"]) : "");
  fmt::print("saved in {}/ (sweep.json{})\n", printable(plan.folder), dirs.empty() ? "" : ", compare.html");
  if (stopSignal) {
    std::fflush(stdout);
    fmt::print(stderr, "netc sweep: stopped by {}: every run it started has ended ({} recorded as interrupted in "
                       "sweep.json); run the same command again to finish the sweep\n",
               signalName(stopSignal), n["interrupted"]);
    return 128 + stopSignal;
  }
  return n["failed"] > 0 ? 1 : 0;
}

}  // namespace

void registerSweep
(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("sweep", "train a grid of settings in parallel (--set NAME=V1,V2,...), one run folder each");
  auto o = std::make_shared<SweepOptions>();
  cmd->add_option("model", o->model, "the .net model file")->required();
  cmd->add_option("--set", o->sets, "NAME=V1,V2,...: the values of a const or SECTION.KEY to sweep (one value: fixed); repeatable")
      ->allow_extra_args(false)
      ->type_name("NAME=VALUES");
  cmd->add_option("--run", o->runs, "\"NAME=V;NAME=V\": one listed combination of settings (repeatable; each crossed with "
                                   "the --set grid)")
      ->allow_extra_args(false);
  cmd->add_option("--data", o->data, "dataset file, replacing the model's data path");
  cmd->add_option("--jobs,-j", o->jobs, "runs at a time (default: one per core)")->check(CLI::Range(1, 1024));
  cmd->add_option("--out", o->out, "the sweep folder (default sweeps/<model>-<YYYYmmdd-HHMMSS>); run again to finish it");
  cmd->add_option("--steps", o->steps, "training steps of every run");
  cmd->add_option("--batch", o->batch, "minibatch size of every run");
  addSeedOption(cmd, o->seed, "seed of every run");
  cmd->add_option("--engine", o->engine, "interp or jit")->check(CLI::IsMember({"interp", "jit"}));
  cmd->add_flag("--no-stats", o->noStats, "runs without probe statistics");
  cmd->add_flag("--force", o->force, "use a --out folder that holds a different sweep, and run again its finished runs "
                                    "of another configuration");
  cmd->add_flag("--quiet", o->quiet, "no progress view");
  cmd->add_option("--emit", o->emit,
                  "write the runs still to do instead of running them: slurm (sweep.sbatch, a job array) or "
                  "commands (one `netc run` line per run)")
      ->check(CLI::IsMember({"slurm", "commands"}));
  cmd->callback([&action, o] {
    if (o->steps) checkFlag("--steps", *o->steps, 0, kMaxSteps);
    action = [o] { return sweepCommand(*o); };
  });
}

}  // namespace netc::driver
