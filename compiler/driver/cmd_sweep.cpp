// netc sweep MODEL.net --set gain=0.5,1,5/3,3 --set train.lr=0.1,0.05: the grid of runs, each one child
// `netc run` into its own folder under the sweep folder, --jobs at a time; sweep.json and compare.html at the
// end. --emit slurm | commands writes the same runs for a cluster or any scheduler instead (sweep_plan.h).
#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "driver/command.h"
#include "driver/sweep_plan.h"
#include "runtime/atomic_file.h"
#include "runtime/compare.h"
#include "runtime/progress.h"

extern char** environ;

namespace netc::driver {

std::string selfExecutable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail(fmt::format("cannot find the netc executable (/proc/self/exe): {}", ec.message()));
  return p.string();
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::atomic<bool> gStop{false};
void onSignal(int) { gStop = true; }

std::string timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

json readJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return nullptr;
  try {
    return json::parse(in);
  } catch (const json::exception&) {
    return nullptr;
  }
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

// The status of a finished run from its folder: done or diverged (result.json), else nothing.
std::optional<std::string> finishedStatus(const std::string& folder, json* result) {
  json r = readJsonFile((fs::path(folder) / "result.json").string());
  if (!r.is_object() || !r.contains("diverged")) return std::nullopt;
  // A diverged run writes result.json before it samples; one that finished has total_seconds.
  if (r.value("diverged", false)) return *result = r, std::string("diverged");
  if (!r.contains("total_seconds")) return std::nullopt;
  *result = r;
  return std::string("done");
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

pid_t spawnRun(const std::string& exe, const SweepRun& r, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> argv = {exe};
  argv.insert(argv.end(), r.args.begin(), r.args.end());
  // For the progress view only: the run itself, and its folder, are those of the recorded command line.
  argv.push_back("--progress-file");
  argv.push_back(log.substr(0, log.size() - 4) + ".progress");
  // The sweep already runs one child per core: a thread team in each would only fight over the cores.
  argv.push_back("--threads");
  argv.push_back("1");
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) fail(fmt::format("cannot start '{}': {}", exe, std::strerror(rc)));
  return pid;
}

std::string slurmScript(const SweepPlan& p, const std::string& exe, const std::string& model) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# netc sweep of {}: {} runs, one Slurm array task each. Submit with: sbatch {}\n", model,
                   p.runs.size(), shellQuote((fs::path(p.folder) / "sweep.sbatch").string()));
  s += "# Each task is one `netc run` into its folder under the sweep folder; a task whose run finished exits at once.\n";
  s += "# Afterwards: netc compare " + shellQuote(p.folder) + "\n";
  s += fmt::format("#SBATCH --job-name=netc-{}\n", fs::path(p.model).stem().string());
  s += fmt::format("#SBATCH --array=0-{}\n", p.runs.size() - 1);
  s += "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n";
  s += fmt::format("#SBATCH --output={}/logs/%a.log\n", p.folder);
  s += "set -euo pipefail\n";
  s += fmt::format("NETC=\"${{NETC:-{}}}\"\n", exe);
  s += fmt::format("SWEEP={}\n", shellQuote(p.folder));
  s += ": \"${SLURM_ARRAY_TASK_ID:?not set: submit with sbatch, or set it to run one task by hand}\"\n";
  s += "mkdir -p \"$SWEEP/logs\"\ncase \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (const SweepRun& r : p.runs) {
    s += fmt::format("  {}) NAME={}; ARGS=({}) ;;\n", r.index, shellQuote(r.name), shellLine(r.args));
  }
  s += "  *) echo \"netc sweep: no task $SLURM_ARRAY_TASK_ID (0-" + std::to_string(p.runs.size() - 1) +
       ")\" >&2; exit 2 ;;\nesac\n";
  s += "if [ -f \"$SWEEP/$NAME/result.json\" ] && grep -q '\"total_seconds\"\\|\"diverged\": true' \"$SWEEP/$NAME/result.json\"; then\n"
       "  echo \"netc sweep: $NAME finished already\"; exit 0\nfi\n";
  // One thread, as the task's one CPU (--cpus-per-task=1) and as a local sweep's child: a team would fight
  // over that CPU, and a run's floats depend on its thread count (sums over the batch split across a team).
  s += "exec \"$NETC\" \"${ARGS[@]}\" --threads 1\n";
  return s;
}

int sweepCommand(SweepOptions o) {
  if (o.sets.empty() && o.runs.empty()) usageFail("netc sweep needs --set NAME=V1,V2,... or --run \"NAME=V;NAME=V\"");
  const std::string folder = !o.out.empty() ? o.out
                                            : (fs::path("sweeps") / (fs::path(o.model).stem().string() + "-" + timestamp())).string();
  SweepPlan plan = makePlan(o, folder);
  // Every run's settings are checked here, as the file would be, before anything starts.
  int64_t steps = 0;
  for (const SweepRun& r : plan.runs) {
    ModelOptions mo;
    mo.model = o.model;
    mo.data = o.data;
    mo.sets = r.sets;
    Model m = mo.load();
    // A run's log and progress files are written over: neither may be the model or the data it reads.
    for (const char* kind : {".log", ".progress"})
      refuseToOverwriteInput("the run's file", (fs::path(plan.folder) / "logs" / (r.name + kind)).string(),
                             {{"the model file", o.model}, {"the data file", m.data.path}});
    steps = std::max(steps, o.steps ? *o.steps : m.train.steps);
    if (o.batch) checkBatchFlag(m.graph, *o.batch);
  }
  const std::string exe = selfExecutable();
  fs::create_directories(plan.folder);
  fs::create_directories(fs::path(plan.folder) / "logs");
  // One sweep at a time in a folder.
  const std::string lockPath = (fs::path(plan.folder) / ".sweep.lock").string();
  int lockFd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd < 0 || ::flock(lockFd, LOCK_EX | LOCK_NB) != 0)
    fail(fmt::format("{} is in use by another netc sweep (its lock {} is held)", plan.folder, lockPath));
  json previous = readJsonFile((fs::path(plan.folder) / "sweep.json").string());
  if (previous.is_object() && !o.force) {
    json prevId = {{"model", previous.value("model", json())}, {"axes", previous.value("axes", json())},
                   {"options", previous.value("options", json())}};
    if (previous.contains("listed")) prevId["listed"] = previous["listed"];
    if (prevId != plan.identity())
      fail(fmt::format("{} holds another sweep (a different model, grid or options in its sweep.json); use another "
                       "--out, or --force to run this one there", plan.folder));
  }

  std::vector<RunState> st(plan.runs.size());
  if (!o.emit.empty()) {
    writeSweepJson(plan, st, "planned");
    if (o.emit == "commands") {
      std::string lines;
      for (const SweepRun& r : plan.runs) {
        std::vector<std::string> a = {exe};
        a.insert(a.end(), r.args.begin(), r.args.end());
        lines += shellLine(a) + "\n";
      }
      writeFileAtomically((fs::path(plan.folder) / "commands.txt").string(), lines);
      fmt::print("{}", lines);
    } else {
      const std::string script = (fs::path(plan.folder) / "sweep.sbatch").string();
      writeFileAtomically(script, slurmScript(plan, exe, o.model));
      fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add);
      fmt::print("wrote {} ({} array tasks); submit with: sbatch {}\nthen: netc compare {}\n", script, plan.runs.size(),
                 shellQuote(script), shellQuote(plan.folder));
    }
    return 0;
  }

  int skipped = 0;
  for (size_t i = 0; i < plan.runs.size(); ++i)
    if (auto s = finishedStatus((fs::path(plan.folder) / plan.runs[i].name).string(), &st[i].result))
      st[i].status = *s, ++skipped;
  const int jobs = o.jobs > 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  SweepView view(plan, steps, o.quiet);
  if (!o.quiet)
    fmt::print(stderr, "sweep: {} runs ({} finished before), {} at a time -> {}\n", plan.runs.size(), skipped, jobs,
               plan.folder);
  writeSweepJson(plan, st, "running");
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  std::map<pid_t, size_t> running;
  size_t next = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    while (!gStop && static_cast<int>(running.size()) < jobs && next < plan.runs.size()) {
      if (st[next].status != "pending") { ++next; continue; }
      const std::string log = (fs::path(plan.folder) / "logs" / (plan.runs[next].name + ".log")).string();
      st[next].pid = spawnRun(exe, plan.runs[next], log);
      st[next].status = "running";
      st[next].started = std::chrono::steady_clock::now();
      running[st[next].pid] = next;
      ++next;
    }
    if (running.empty()) break;
    int wstatus = 0;
    pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      size_t i = running[pid];
      running.erase(pid);
      RunState& s = st[i];
      s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
      s.exitCode = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
      const std::string runDir = (fs::path(plan.folder) / plan.runs[i].name).string();
      const std::string log = (fs::path(plan.folder) / "logs" / (plan.runs[i].name + ".log")).string();
      auto fin = finishedStatus(runDir, &s.result);
      if (fin) s.status = *fin;
      else s.status = gStop ? "interrupted" : "failed";
      if (s.status != "done") s.error = lastLines(log, 4);
      std::string what = s.status == "done"
                             ? fmt::format("dev {:.4f}", s.result.value("final", json::object()).value("dev", NAN))
                             : s.status == "diverged" ? s.result.value("divergence", std::string("diverged"))
                                                      : fmt::format("exit {}, see {}", s.exitCode, log);
      view.event(fmt::format("{} {} in {:.1f} s: {}", plan.runs[i].name, s.status, s.seconds, what));
      writeSweepJson(plan, st, "running");
      continue;
    }
    if (gStop)
      for (auto& [p, i] : running) ::kill(p, SIGTERM);
    view.update(st);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  view.finish();
  for (auto& s : st)
    if (s.status == "pending") s.status = gStop ? "interrupted" : s.status;
  writeSweepJson(plan, st, gStop ? "interrupted" : "finished");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, int> n;
  for (auto& s : st) n[s.status]++;
  std::vector<std::string> dirs;
  for (size_t i = 0; i < plan.runs.size(); ++i)
    if (fs::exists(fs::path(plan.folder) / plan.runs[i].name / "config.json"))
      dirs.push_back((fs::path(plan.folder) / plan.runs[i].name).string());
  const std::string page = (fs::path(plan.folder) / "compare.html").string();
  if (!dirs.empty()) writeComparePage(dirs, page);
  fmt::print("sweep of {} runs in {:.1f} s: {} done, {} diverged, {} failed{}\n", plan.runs.size(), secs, n["done"],
             n["diverged"], n["failed"], n["interrupted"] ? fmt::format(", {} interrupted", n["interrupted"]) : "");
  fmt::print("saved in {}/ (sweep.json{})\n", plan.folder, dirs.empty() ? "" : ", compare.html");
  if (gStop) return 130;
  return n["failed"] > 0 ? 1 : 0;
}

}  // namespace

void registerSweep(CLI::App& app, Action& action) {
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
  cmd->add_flag("--force", o->force, "use a --out folder that holds a different sweep");
  cmd->add_flag("--quiet", o->quiet, "no progress view");
  cmd->add_option("--emit", o->emit,
                  "write the runs instead of running them: slurm (sweep.sbatch, a job array) or commands (one "
                  "`netc run` line per run)")
      ->check(CLI::IsMember({"slurm", "commands"}));
  cmd->callback([&action, o] {
    if (o->steps) checkFlag("--steps", *o->steps, 0, kMaxSteps);
    action = [o] { return sweepCommand(*o); };
  });
}

}  // namespace netc::driver
