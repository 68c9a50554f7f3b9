// netc run: train a model on its dataset, evaluate, sample, save (files documented in runtime/runs/run_folder.h).
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>
#include <optional>
#include <map>
#include <set>

#include "autodiff/optimizer.h"
#include "codegen/plan.h"
#include "driver/command.h"
#include "support/files.h"
#include "runtime/data/dataset.h"
#include "runtime/files/json_fields.h"
#include "runtime/training/progress.h"
#include "runtime/training/run_checks.h"
#include "runtime/runs/run_folder.h"
#include "runtime/files/safetensors.h"
#include "runtime/training/sampler.h"
#include "runtime/runs/stats_observer.h"
#include "runtime/training/trainer.h"
#include "support/diag.h"

namespace netc::driver {

namespace {

struct RunOptions {
  ModelOptions model;
  std::optional<int64_t> steps, batch;
  std::optional<double> lr;
  std::optional<uint64_t> seed;
  std::string out, initFrom, engine = "jit", config, progressFile;
  bool quiet = false, test = false, noStats = false, force = false, resume = false;
  int threads = 0;  // the training step's thread team; 0: chosen by its size (codegen::chooseThreads)
  std::set<std::string> fromConfig;  // the flags whose value --config's repeat section gave
  // The --set texts that --config's repeat.set gave (not replaced on the command line), with their entry:
  // "train.lr=abc" -> "repeat.set[2]", so that an error in one names the entry at fault.
  std::map<std::string, std::string> setsFromConfig;
  // How an error names where a value came from: "--steps", or "--config F: repeat.steps (as --steps)".
  std::string source(const std::string& flag) const {
    if (!fromConfig.count(flag)) return flag;
    std::string key = flag.substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    return fmt::format("--config {}: repeat.{} (as {})", config, key, flag);
  }
};

void addRunOptions(CLI::App* cmd, RunOptions& o);

// What `netc run --config RUN/config.json` needs to repeat a run: the options that decide its results (not
// --out, --quiet or --force). The model path as given and absolute, so the config works from another folder.
// `threads`: the training step's thread team as it ran (chosen by size where --threads was not given), since
// a team's split sums add up in another order than one thread's: repeated elsewhere, the default could differ.
nlohmann::json repeatJson(const RunOptions& o, int threads) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(o.model.model, ec).lexically_normal().string();
  return {{"model", o.model.model}, {"model_absolute", ec ? o.model.model : abs},
          {"data", o.model.data.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.model.data)},
          {"set", o.model.sets}, {"steps", opt(o.steps)}, {"batch", opt(o.batch)}, {"lr", opt(o.lr)},
          {"seed", opt(o.seed)}, {"engine", o.engine}, {"test", o.test}, {"no_stats", o.noStats},
          {"init_from", o.initFrom.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.initFrom)},
          {"resume", o.resume}, {"threads", threads}};
}

// One key of config.json's repeat section (repeatJson) as the command-line arguments it stands for: none for
// a null, a false flag or model_absolute (read by applyConfig itself). A key netc run does not write, or a
// value of another JSON type than its flag takes, is a usage error naming the key.
std::vector<std::string> repeatArguments(const std::string& file, const std::string& key, const nlohmann::json& v) {
  enum Kind { Text, Texts, Whole, Number, Flag };
  struct Key {
    const char* name;
    const char* flag;  // "--": the positional model; "": no flag
    Kind kind;
  };
  static const Key keys[] = {{"model", "--", Text},        {"model_absolute", "", Text}, {"data", "--data", Text},
                             {"set", "--set", Texts},      {"steps", "--steps", Whole},  {"batch", "--batch", Whole},
                             {"lr", "--lr", Number},       {"seed", "--seed", Whole},    {"engine", "--engine", Text},
                             {"test", "--test", Flag},     {"no_stats", "--no-stats", Flag},
                             {"init_from", "--init-from", Text}, {"resume", "--resume", Flag},
                             {"threads", "--threads", Whole}};
  const Key* k = nullptr;
  std::vector<std::string> names;
  for (const Key& each : keys) {
    names.push_back(each.name);
    if (key == each.name) k = &each;
  }
  if (!k)
    usageFail(fmt::format("--config {}: unknown key repeat.{}{} (netc run writes {})", file, printable(key),
                          didYouMean(key, names), fmt::join(names, ", ")));
  auto wrong = [&](const char* expected) {
    usageFail(fmt::format("--config {}: repeat.{} must be {}, found {}", file, key, expected, printable(v.dump())));
  };
  const std::string flag = k->flag;
  if (k->kind == Flag) {
    if (!v.is_boolean()) wrong("true or false");
    return v.get<bool>() ? std::vector<std::string>{flag} : std::vector<std::string>{};
  }
  if (v.is_null()) return {};
  switch (k->kind) {
    case Text:
      if (!v.is_string()) wrong("a string or null");
      if (flag.empty()) return {};
      if (flag == "--") return {flag, v.get<std::string>()};
      return {flag + "=" + v.get<std::string>()};
    case Texts: {
      if (!v.is_array()) wrong("a list of strings");
      std::vector<std::string> args;
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string())
          usageFail(fmt::format("--config {}: repeat.{}[{}] must be a string, found {}", file, key, i, printable(v[i].dump())));
        args.push_back(flag + "=" + v[i].get<std::string>());
      }
      return args;
    }
    case Whole:
      if (!v.is_number_integer()) wrong("a whole number or null");
      return {flag + "=" + v.dump()};
    case Number:
      if (!v.is_number()) wrong("a number or null");
      return {flag + "=" + v.dump()};
    case Flag: break;
  }
  return {};
}

// --config FILE: the options of the run that wrote it, under those given on this command line (a --set here
// replaces one of the same NAME there). The repeat section is read as the command line it records: each key
// becomes its flag and value and goes through the same options and validators as `netc run`'s own arguments
// (and the checks after them, which name the key: RunOptions::source), so a value the command line refuses is
// refused here too, a usage error naming the key.
void applyConfig(RunOptions& o, bool engineGiven) {
  const nlohmann::json j = parseStrictJson(readInputFile(o.config, "config file", kMaxConfigFileBytes), o.config);
  if (!j.is_object() || !j.contains("repeat") || !j["repeat"].is_object())
    fail(fmt::format("--config {}: no \"repeat\" section (not a config.json written by netc run)", o.config));
  RunOptions r;
  std::set<std::string> given;  // the flags the section gives a value
  for (const auto& [key, value] : j["repeat"].items()) {
    std::vector<std::string> args = repeatArguments(o.config, key, value);
    if (!args.empty()) given.insert(args.front().substr(0, args.front().find('=')));
    CLI::App app;
    addRunOptions(&app, r);
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector of arguments last first
    try {
      app.parse(args);
      if (key == "set")  // each entry's text, to name it should the model refuse it
        for (size_t i = 0; i < value.size(); ++i) o.setsFromConfig.try_emplace(value[i].get<std::string>(), fmt::format("repeat.set[{}]", i));
    } catch (const CLI::ParseError& e) {
      usageFail(fmt::format("--config {}: repeat.{} is {}, which the command line refuses: {}", o.config, key,
                            printable(value.dump()), printable(e.what())));
    }
  }
  auto take = [&](const std::string& flag, auto& here, const auto& recorded) {
    here = recorded;
    o.fromConfig.insert(flag);
  };
  if (o.model.model.empty() && given.count("--")) {
    o.model.model = r.model.model;
    std::error_code ec;
    const nlohmann::json& abs = j["repeat"].value("model_absolute", nlohmann::json());
    if (!std::filesystem::exists(o.model.model, ec) && abs.is_string()) o.model.model = abs.get<std::string>();
  }
  if (o.model.data.empty() && given.count("--data")) o.model.data = r.model.data;
  std::vector<std::string> sets = r.model.sets;
  for (const std::string& here : o.model.sets) {
    const std::string name = here.substr(0, here.find('='));
    std::erase_if(sets, [&](const std::string& s) { return s.substr(0, s.find('=')) == name; });
    std::erase_if(o.setsFromConfig, [&](const auto& s) { return s.first.substr(0, s.first.find('=')) == name; });
    sets.push_back(here);
  }
  o.model.sets = sets;
  if (!o.steps && r.steps) take("--steps", o.steps, r.steps);
  if (!o.batch && r.batch) take("--batch", o.batch, r.batch);
  if (!o.lr && r.lr) take("--lr", o.lr, r.lr);
  if (!o.seed && r.seed) o.seed = r.seed;
  if (o.threads == 0) o.threads = r.threads;
  if (!engineGiven && given.count("--engine")) o.engine = r.engine;
  o.test = o.test || r.test;
  o.noStats = o.noStats || r.noStats;
  // The recorded starting weights and resume go together (unless --init-from is given here); a recorded resume
  // without weights meets the command line's own check below, as `--resume` alone would.
  if (o.initFrom.empty()) o.initFrom = r.initFrom, o.resume = o.resume || r.resume;
}

// The steps a checkpoint was saved after (its metadata's netc.steps_done, as netc run writes it): a whole
// number read whole, so that an edited "1e3" or "500abc" is refused rather than read as 1 or 500.
int64_t stepsDone(const std::string& file, const std::map<std::string, std::string>& meta) {
  auto it = meta.find("netc.steps_done");
  if (it == meta.end()) fail(fmt::format("--resume: {} does not record how many steps were done (not saved by netc run)", file));
  const std::string& text = it->second;
  int64_t done = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), done);
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])) || ec != std::errc() ||
      end != text.data() + text.size() || done > kMaxSteps)
    fail(fmt::format("--resume: {}: metadata 'netc.steps_done' is '{}', expected a whole number of steps from 0 to {}",
                     file, printable(text), kMaxSteps));
  return done;
}

// Prints the step-0 loss beside the loss of a uniform guess, -ln(1/V): far above it means a confidently wrong
// initialisation (the lecture's 27.9 against 3.30). Statistics probes attach the same way, as observers.
class InitialLoss final : public TrainObserver {
 public:
  InitialLoss(Progress& p, int vocab) : progress_(p), vocab_(vocab) {}
  void onProbe(Engine&, int64_t step, double loss) override {
    if (step == 0)
      progress_.note(fmt::format("step 0: loss {:.4f}, uniform baseline -ln(1/{}) = {:.4f}", loss, vocab_,
                                 std::log(static_cast<double>(vocab_))));
  }

 private:
  Progress& progress_;
  int vocab_;
};

// --progress-file PATH (netc sweep's children): "STEP STEPS LOSS" rewritten in place at most twice a second, for
// the sweep's progress view (losses.csv reaches the disk only at checkpoints). Cheap per step: the clock is read
// every 64 steps, and nothing allocates.
class ProgressFile final : public TrainObserver {
 public:
  // Never through a link, and only a regular file (openOwnFile): it is rewritten in place.
  ProgressFile(const std::string& path, int64_t steps) : fd_(openOwnFile(path, O_WRONLY, OpenMode::Truncate)), steps_(steps) {}
  ~ProgressFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  void onStep(int64_t step, double loss, double) override {
    if (fd_ < 0 || (step % 64 != 0 && step + 1 != steps_)) return;
    auto now = std::chrono::steady_clock::now();
    if (step + 1 != steps_ && now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    char buf[96];
    int n = std::snprintf(buf, sizeof buf, "%lld %lld %.6g\n", static_cast<long long>(step), static_cast<long long>(steps_), loss);
    if (n > 0 && ::pwrite(fd_, buf, static_cast<size_t>(n), 0) == n) (void)::ftruncate(fd_, n);
  }

 private:
  int fd_;
  int64_t steps_;
  std::chrono::steady_clock::time_point last_{};
};

// --progress-file is rewritten as the run goes: it may not be one of the run's inputs, nor one of the files of
// its run folder. Checked before anything is written.
void refuseProgressOverInputs(const RunOptions& o, const std::string& dataPath) {
  std::vector<CommandInput> inputs = {{"the model file", o.model.model}, {"the data file", dataPath},
                                      {"--init-from", o.initFrom}, {"--config", o.config}};
  if (!o.out.empty())
    for (const std::string& f : RunFolder::runFiles())
      inputs.push_back({"the run file", (std::filesystem::path(o.out) / f).string()});
  if (!o.out.empty()) inputs.push_back({"the run folder's lock", (std::filesystem::path(o.out) / ".netc.lock").string()});
  refuseToOverwriteInput("--progress-file", o.progressFile, inputs);
}

nlohmann::json splitsJson(const SplitLosses& l) {
  nlohmann::json j = nlohmann::json::object();
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    if (!std::isnan(l[s])) j[splitName(s)] = l[s];
  return j;
}

int64_t parameterCount(const Graph& g) {
  int64_t n = 0;
  for (int p : g.params()) n += numel(g[p].shape);
  return n;
}

nlohmann::json configJson(const RunOptions& o, const Model& m, const TrainSpec& t, const Dataset& d, int threads) {
  nlohmann::json lr = nlohmann::json::array();
  for (const auto& seg : t.lr)
    lr.push_back({{"lr", seg.lr}, {"until", seg.until < 0 ? nlohmann::json(nullptr) : nlohmann::json(seg.until)}});
  nlohmann::json splits = nlohmann::json::object();
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    splits[splitName(s)] = {{"fraction", m.data.split[static_cast<int>(s)]},
                            {"words", d.words[static_cast<int>(s)]},
                            {"examples", d[s].size()}};
  return {
      {"model", {{"path", o.model.model}, {"name", m.name}, {"parameters", parameterCount(m.graph)}}},
      {"overrides", o.model.sets},
      {"constants", m.constants},
      {"repeat", repeatJson(o, threads)},
      {"data", {{"path", d.path}, {"context", d.context}, {"seed", m.data.seed}, {"words", d.wordCount}, {"splits", splits}}},
      {"vocabulary", describeVocabulary(m.vocab)},
      {"train",
       {{"steps", t.steps}, {"batch", t.batch}, {"lr", lr}, {"seed", t.seed}, {"log_every", t.logEvery},
        {"eval_every", t.evalEvery}, {"probe_every", t.probeEvery}, {"saturation", t.saturation},
        {"optimizer", describeOptimizer(t.optimizer)}, {"warmup", t.warmup}, {"decay", t.cosine ? "cosine" : "none"}}},
      {"sample", {{"count", m.sample.count}, {"seed", m.sample.seed}}},
      {"engine", o.engine},
      {"init_from", o.initFrom.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.initFrom)},
      {"test", o.test},
  };
}

// --resume continues the run that stopped, so the settings its floats depend on must be that run's: the ones
// the config.json beside the weights recorded (when there is one) against this run's. `--steps` may differ (a
// resumed run is often a longer one), and so may the thread count (README: the condition for exact resumes).
void requireSameRun(const std::string& initFrom, const nlohmann::json& now) {
  const std::optional<nlohmann::json> recorded = configBeside(initFrom);
  if (!recorded) return;  // a checkpoint on its own
  const nlohmann::json& then = *recorded;
  const std::string config = (std::filesystem::path(initFrom).parent_path() / "config.json").string();
  // Beside the weights but recording no settings: nothing to continue from, so nothing is assumed.
  if (!then.is_object() || !then.contains("train") || !then["train"].is_object())
    fail(fmt::format("--resume: {} records no train settings, so this run cannot be checked to be the one that "
                     "stopped: restore it, or drop --resume to start a new run from these weights", config));
  const std::pair<const char*, const char*> keys[] = {
      {"train", "batch"},   {"train", "seed"},  {"train", "lr"},      {"train", "optimizer"}, {"train", "warmup"},
      {"train", "decay"},   {"data", "seed"},   {"data", "context"},  {"data", "words"},      {"constants", nullptr}};
  for (const auto& [section, key] : keys) {
    const nlohmann::json::json_pointer at(key ? fmt::format("/{}/{}", section, key) : fmt::format("/{}", section));
    if (!then.contains(at)) continue;  // an older netc's config.json: what it does not record is not compared
    if (then[at] == now[at]) continue;
    const std::string name = key ? fmt::format("{}.{}", section, key) : section;
    fail(fmt::format("--resume: {} records {} {}, but this run has {}: a resumed run continues the run that stopped, "
                     "with its settings; give the same ones (--config {} repeats them), or drop --resume to start a "
                     "new run from these weights",
                     config, name, then[at].dump(), now[at].dump(), config));
  }
}

// The model with its --set overrides; an error in one that --config's repeat.set gave names the entry:
// "--config F: repeat.set[2]: --set train.lr=abc: error: ...". The override's own message quotes it as
// "--set TEXT" (at the start, or after "netc: error: " for a usage error), which is where the entry goes.
Model loadNamingConfigSets(const RunOptions& o) {
  auto named = [&](const Error& e) -> std::string {
    const std::string msg = e.what();
    for (const auto& [text, entry] : o.setsFromConfig) {
      const std::string quoted = "--set " + printable(text);
      for (size_t at : {size_t{0}, std::string_view("netc: error: ").size()})
        if (msg.compare(at, quoted.size(), quoted) == 0 && (at == 0 || msg.starts_with("netc: error: ")))
          return msg.substr(0, at) + fmt::format("--config {}: {}: ", printable(o.config), entry) + msg.substr(at);
    }
    return "";
  };
  try {
    return o.model.load();
  } catch (const UsageError& e) {
    if (std::string msg = named(e); !msg.empty()) throw UsageError(msg);
    throw;
  } catch (const Error& e) {
    if (std::string msg = named(e); !msg.empty()) throw Error(msg);
    throw;
  }
}

int runCommand(RunOptions o, bool engineGiven) {
  if (!o.config.empty()) applyConfig(o, engineGiven);
  if (o.model.model.empty()) usageFail("netc run: give a MODEL.net, or --config RUN/config.json");
  const auto t0 = std::chrono::steady_clock::now();
  Model m = loadNamingConfigSets(o);
  TrainSpec spec = m.train;
  if (o.steps) spec.steps = checkFlag(o.source("--steps").c_str(), *o.steps, 0, kMaxSteps);
  if (o.batch) spec.batch = checkBatchFlag(m.graph, *o.batch, o.source("--batch").c_str());
  if (o.lr) {
    if (!(*o.lr > 0) || !std::isfinite(*o.lr))
      usageFail(fmt::format("{} must be a positive number, found {}", o.source("--lr"), *o.lr));
    spec.lr = {{*o.lr, -1}};
  }
  if (o.seed) spec.seed = *o.seed;
  const EngineKind kind = o.engine == "interp" ? EngineKind::Interp : EngineKind::Jit;

  Dataset d = checkRun(m, spec, o.threads);  // what `netc check` checks too
  if (!o.progressFile.empty()) refuseProgressOverInputs(o, d.path);
  if (o.test && d[Split::Test].size() == 0)
    fail(fmt::format("--test: the test split is empty (split {}/{}/{} in the data section)", m.data.split[0],
                     m.data.split[1], m.data.split[2]));
  // Compiling a big unrolled model the first time takes seconds (a GRU: about 5): on a terminal, say so until
  // the first line of the run replaces it.
  const bool bar = Progress::detect(o.quiet) == Progress::Mode::Bar;
  struct CompilingLine {
    bool shown;
    void clear() {
      if (shown) fmt::print(stderr, "\r\x1b[2K"), shown = false;
    }
    ~CompilingLine() { clear(); }  // also when compiling fails and an error follows
  } compiling{bar};
  if (bar) fmt::print(stderr, "compiling {} (training step{}, evaluation) ...", m.name, o.noStats ? "" : ", probe step"),
      std::fflush(stderr);
  Trainer trainer(m, spec, kind, o.threads);
  std::vector<std::string> freshState;
  int64_t firstStep = 0;
  if (o.resume && o.initFrom.empty()) fail("--resume continues the run whose weights --init-from names: give both");
  if (!o.initFrom.empty()) {
    const WeightMap start = loadWeightsFor(m, o.initFrom);
    freshState = trainer.setWeights(start, o.initFrom);
    if (o.resume) {
      requireSameRun(o.initFrom, configJson(o, m, spec, d, 0));
      // A checkpoint holding another optimizer's state (Adam's moments in an SGD run) is not this run's.
      const Graph& g = trainer.engine().graph();
      std::set<std::string> kept;
      for (int p : g.persistent()) kept.insert(g[p].name);
      for (const auto& [name, tensor] : start)
        if (!kept.count(name))
          fail(fmt::format("--resume: {} holds '{}', state of an optimizer this run does not use (it trains with {}): "
                           "resume with the optimizer that saved it, or drop --resume to start from its weights",
                           o.initFrom, name, describeOptimizer(spec.optimizer)));
      firstStep = stepsDone(o.initFrom, loadSafetensorsMetadata(o.initFrom));
      if (firstStep > spec.steps)
        fail(fmt::format("--resume: {} was saved after {} steps, more than the {} steps of this run", o.initFrom, firstStep, spec.steps));
      // Adam counts every step it took, those of runs this one started from too: never fewer than were done.
      if (auto t = start.find(kAdamStepState); t != start.end() && !t->second.data.empty() && t->second.data[0] < firstStep)
        fail(fmt::format("--resume: {}: optimizer state '{}' is {}, but its metadata says {} steps were done (it "
                         "counts every step, so it is {} or more)", o.initFrom, kAdamStepState, t->second.data[0],
                         firstStep, firstStep));
      if (!freshState.empty())
        fail(fmt::format("--resume: {} lacks the optimizer state '{}' this run needs (saved with another optimizer?)",
                         o.initFrom, freshState.front()));
    }
  }
  if (!o.noStats) trainer.enableProbes(instrumentOptions(trainer.model(), spec));
  compiling.clear();

  // Before the folder: a progress file that cannot be written leaves no half-made run folder behind.
  std::unique_ptr<ProgressFile> progressFile;
  if (!o.progressFile.empty()) progressFile = std::make_unique<ProgressFile>(o.progressFile, spec.steps);
  // Opened only now: the inputs are read completely, so resuming from this very folder (--init-from
  // DIR/weights.safetensors --resume) is safe. The rules are in runtime/runs/run_folder.h.
  RunFolder folder(o.out.empty() ? RunFolder::defaultPath("runs", m.name) : o.out,
                   {o.force, {{"the model file", o.model.model}, {"the data file", d.path}}, o.initFrom,
                    o.resume ? firstStep : -1, o.resume && firstStep == spec.steps});
  folder.writeJson("config.json", configJson(o, m, spec, d, trainer.engine().threads()));
  // Starting weights from a file are on disk at once, so a run that diverges before its first checkpoint
  // still leaves the weights its config.json names. Resumed in place, this replaces the weights file by rename
  // (never deleted first): the folder holds a complete checkpoint at every moment.
  int64_t savedAt = -1;
  if (!o.initFrom.empty()) folder.onCheckpoint(firstStep, trainer.weights()), savedAt = firstStep;
  Progress progress(Progress::detect(o.quiet), spec.steps, spec.logEvery);
  if (kind == EngineKind::Interp) progress.setLongRunHint("--engine jit is much faster than interp");
  InitialLoss initial(progress, m.vocab.size());
  if (!o.quiet && !freshState.empty())
    progress.note(fmt::format("{} has no optimizer state ({} ...): it starts from zero", o.initFrom, freshState.front()));
  if (!o.quiet && firstStep > 0) progress.note(fmt::format("resuming after step {} of {}", firstStep, spec.steps));
  if (!o.quiet)
    progress.note(fmt::format("{}: {} parameters, vocabulary {}, {} train / {} dev / {} test examples -> {}", m.name,
                              parameterCount(m.graph), m.vocab.size(),
                              d[Split::Train].size(), d[Split::Dev].size(), d[Split::Test].size(), folder.path()));

  // Probe statistics: stats.jsonl, summaries at step 0 and the end, report.html.
  std::unique_ptr<StatsObserver> stats;
  std::vector<TrainObserver*> observers = {&folder, &progress, &initial};
  if (progressFile) observers.push_back(progressFile.get());
  if (!o.noStats) {
    // Resumed in place, the statistics continue stats.jsonl and the report covers the whole run from step 0.
    stats = std::make_unique<StatsObserver>(m, spec, *trainer.probePlan(), folder.path(),
                                            [&progress](std::string_view s) { progress.noteLines(s); },
                                            folder.continuesHistory());
    observers.push_back(stats.get());
  }

  const auto t1 = std::chrono::steady_clock::now();
  TrainResult r = trainer.train(d, observers, o.test, firstStep);
  const double trainSecs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  progress.finish();
  if (stats) stats->finish();
  folder.finish();
  if (r.lastCheckpoint >= 0) savedAt = r.lastCheckpoint;

  nlohmann::json result = {{"steps_done", r.done},          {"initial_loss", r.initialLoss},
                           {"last_minibatch_loss", r.lastLoss}, {"final", splitsJson(r.final)},
                           {"train_seconds", trainSecs},    {"step_seconds", r.stepSeconds},
                           {"eval_seconds", r.evalSeconds}, {"final_eval_seconds", r.finalEvalSeconds},
                           {"diverged", r.diverged}};
  if (r.diverged) {
    result["divergence"] = r.divergence;
    result["diverged_step"] = r.divergedStep;
    folder.writeJson("result.json", result);
    std::string kept = savedAt >= 0
                           ? fmt::format("the last good weights (after {} steps) are in {}", savedAt,
                                         folder.file("weights.safetensors"))
                           : "no good weights were saved before it";
    if (r.divergedStep < 0) fail(r.divergence);  // --steps 0: no step ran, no learning rate to blame
    // The message already says what to blame: the starting weights, or a state's update.
    if (r.cause != DivergenceCause::Training) fail(fmt::format("{}; {}.", r.divergence, kept));
    const double lr = spec.learningRate(r.divergedStep - 1);  // the rate of the update that made it
    // A healthy loss (not above where the run started) that turns non-finite in one update is what a
    // non-finite gradient does at any rate (a log, sqrt or division at 0 in the backward pass), and it is
    // also what a rate far too high does: both are said, since the step cannot tell them apart afterwards.
    if (r.jumpedToNonFinite && r.lastLoss <= r.initialLoss)
      fail(fmt::format("{}; {}. One update (at step {}, learning rate {:g}) took a healthy loss to a non-finite one: "
                       "either the backward pass made a non-finite gradient (a log, sqrt or division at 0; `netc "
                       "gradcheck` checks the gradients at any rate), or the rate is far too high (try a smaller --lr).",
                       r.divergence, kept, r.divergedStep - 1, lr));
    fail(fmt::format("{}; {}. Learning rate {:g} at step {} too high? Try a smaller --lr.", r.divergence, kept,
                     spec.learningRate(r.divergedStep), r.divergedStep));
  }
  if (savedAt != r.done) folder.onCheckpoint(r.done, trainer.weights());  // --steps 0 has none of its own

  // Sampled from the saved (F32) weights, so `netc sample` with the same seed prints the same words.
  Sampler sampler(m, kind);
  sampler.setWeights(loadSafetensors(folder.file("weights.safetensors")), folder.file("weights.safetensors"));
  std::vector<std::string> words = sampler.sample(m.sample.count, m.sample.seed);
  folder.writeSamples(words);
  result["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  folder.writeJson("result.json", result);

  if (std::isfinite(r.initialLoss))  // a step ran, or --steps 0 probed the start
    fmt::print("initial loss {:.4f} (uniform -ln(1/{}) = {:.4f})\n", r.initialLoss, m.vocab.size(),
               std::log(static_cast<double>(m.vocab.size())));
  std::string losses;
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    if (!std::isnan(r.final[s])) losses += fmt::format("  {} {:.4f}", splitName(s), r.final[s]);
  // Steps per second over the steps alone: compiling the evaluation engines and evaluating are not training.
  fmt::print("after {} steps:{}   ({} training, {:.0f} steps/s)\n", r.done, losses, formatDuration(trainSecs),
             r.stepSeconds > 0 ? static_cast<double>(r.done) / r.stepSeconds : 0.0);
  if (!words.empty()) {
    // The first few fit a line; say so when there are more, and where they all are.
    constexpr size_t kShown = 10;
    if (words.size() <= kShown) fmt::print("samples:");
    else fmt::print("samples ({} of {}, all in {}):", kShown, words.size(), printable(folder.file("samples.txt")));
    for (size_t i = 0; i < words.size() && i < kShown; ++i) fmt::print(" {}", words[i]);
    fmt::print("\n");
  }
  fmt::print("saved in {}/\n", printable(folder.path()));
  return 0;
}

// Every option of `netc run`, bound to `o`: for the command line, and for --config's repeat section.
void addRunOptions(CLI::App* cmd, RunOptions& o) {
  o.model.add(cmd, /*modelRequired=*/false);
  cmd->add_option("--config", o.config, "repeat the run that wrote this config.json (its model, --set, --data, "
                                        "--steps, ...); options given here take precedence");
  cmd->add_option("--steps", o.steps, "training steps (replaces the train section's)");
  cmd->add_option("--batch", o.batch, "minibatch size");
  // In config.json's repeat section as the step ran: a team's floats differ from one thread's where it
  // splits sums over the batch (README, Performance), so `--config` repeats the same count.
  cmd->add_option("--threads", o.threads,
                  "threads running each training step (default: 2 or more where the step's products are big "
                  "enough to gain from them, see README Performance; 1 otherwise)")
      ->check(CLI::Range(1, codegen::kMaxThreads));
  cmd->add_option("--lr", o.lr, "a constant learning rate (replaces the schedule)");
  addSeedOption(cmd, o.seed, "seed of the initial weights and the minibatches");
  cmd->add_option("--out", o.out, "run folder (default runs/<model>-<YYYYmmdd-HHMMSS>)");
  cmd->add_option("--init-from", o.initFrom, "start from these weights (.safetensors) instead of the initialisers");
  cmd->add_flag("--resume", o.resume,
                "with --init-from RUN/weights.safetensors: continue that run after its last saved step (schedule, "
                "minibatch stream and optimizer state), as if it had not stopped");
  cmd->add_flag("--quiet", o.quiet, "no progress bar or log lines");
  cmd->add_option("--progress-file", o.progressFile, "(for netc sweep) write \"STEP STEPS LOSS\" to this file as training goes")
      ->group("");
  cmd->add_flag("--force", o.force, "replace the results of another run in the --out folder (they are removed first)");
  cmd->add_flag("--test", o.test, "also evaluate the test split at the end");
  cmd->add_flag("--no-stats", o.noStats, "no probe statistics (stats.jsonl, summaries, report.html)");
  cmd->add_option("--engine", o.engine, "interp (reference, slow) or jit")->check(CLI::IsMember({"interp", "jit"}));
}

}  // namespace

void registerRun(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("run", "train a model on its dataset, evaluate, sample, save");
  auto o = std::make_shared<RunOptions>();
  addRunOptions(cmd, *o);
  CLI::Option* engine = cmd->get_option("--engine");
  cmd->callback([&action, o, engine] {
    const bool engineGiven = engine->count() > 0;
    action = [o, engineGiven] { return runCommand(*o, engineGiven); };
  });
}

}  // namespace netc::driver
