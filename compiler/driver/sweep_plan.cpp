#include "driver/sweep_plan.h"

#include <filesystem>
#include <fmt/format.h>

#include "lower/overrides.h"
#include "support/diag.h"

namespace netc::driver {

std::vector<std::string> splitValues(const std::string& values) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : values) {
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) out.emplace_back();
    else out.back() += c;
  }
  for (auto& v : out) {
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
  }
  return out;
}

namespace {

// A value as part of a folder name: letters, digits, '.', '-', '+' kept; '/' is "÷"-less ASCII "_".
std::string nameSafe(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ? c : '_';
  return out;
}

std::string shortName(const std::string& name) {
  const size_t dot = name.find('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

std::string shellQuote(const std::string& s) {
  bool plain = !s.empty();
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._-+/=,:@%").find(c) != std::string_view::npos))
      plain = false;
  if (plain) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string scriptValueProblem(const std::string& value) {
  for (unsigned char c : value) {
    if (c == '\n') return "a newline";
    if (c < 0x20 || c == 0x7f) return fmt::format("the control byte 0x{:02x}", c);
  }
  if (!value.empty() && value.front() == '-') return "a leading '-' (it would be read as an option)";
  return "";
}

void checkScriptValue(const std::string& what, const std::string& value) {
  const std::string problem = scriptValueProblem(value);
  if (problem.empty()) return;
  usageFail(fmt::format("{} '{}' contains {}: a sweep writes it into sweep.json and the emitted scripts, where it "
                        "cannot be passed safely; rename it",
                        what, printable(value), problem));
}

std::string shellLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shellQuote(a);
  return out;
}

nlohmann::json SweepPlan::identity() const {
  nlohmann::json axesJson = nlohmann::json::array();
  for (const auto& [name, values] : axes) axesJson.push_back({{"name", name}, {"values", values}});
  nlohmann::json j = {{"model", model}, {"axes", axesJson}, {"options", options}};
  if (listed.size() > 1 || !listed.front().empty()) j["listed"] = listed;
  return j;
}

SweepPlan makePlan(const SweepOptions& o, const std::string& folder) {
  namespace fs = std::filesystem;
  SweepPlan p;
  // Absolute paths: the same from any folder a task starts in, and never a word that begins with '-'.
  p.model = fs::absolute(o.model).lexically_normal().string();
  p.folder = fs::absolute(folder).lexically_normal().string();
  // Every value that reaches a run's command line, checked once here for every way a sweep runs it.
  checkScriptValue("the model path", p.model);
  checkScriptValue("--out", p.folder);
  if (!o.data.empty()) checkScriptValue("--data", fs::absolute(o.data).lexically_normal().string());
  for (const std::string& s : o.sets) checkScriptValue("--set", s);
  for (const std::string& r : o.runs) checkScriptValue("--run", r);
  for (const std::string& s : o.sets) {
    auto [name, values] = splitOverride(s);
    for (const auto& [n, v] : p.axes)
      if (n == name) usageFail(fmt::format("--set {}: '{}' is swept twice; give its values in one --set", s, name));
    std::vector<std::string> vs = splitValues(values);
    for (const auto& v : vs)
      if (v.empty()) usageFail(fmt::format("--set {}: an empty value in the list", s));
    p.axes.emplace_back(name, vs);
  }
  std::string data = o.data.empty() ? "" : fs::absolute(o.data).lexically_normal().string();
  p.options = {{"steps", o.steps ? nlohmann::json(*o.steps) : nlohmann::json(nullptr)},
               {"batch", o.batch ? nlohmann::json(*o.batch) : nlohmann::json(nullptr)},
               {"seed", o.seed ? nlohmann::json(*o.seed) : nlohmann::json(nullptr)},
               {"data", data.empty() ? nlohmann::json(nullptr) : nlohmann::json(data)},
               {"engine", o.engine}, {"no_stats", o.noStats}};
  for (const std::string& run : o.runs) {
    std::vector<std::string> sets;
    // "NAME=V;NAME=V": split at the semicolons.
    std::string cur;
    for (char c : run + ";") {
      if (c != ';') { cur += c; continue; }
      while (!cur.empty() && cur.front() == ' ') cur.erase(cur.begin());
      while (!cur.empty() && cur.back() == ' ') cur.pop_back();
      if (!cur.empty()) splitOverride(cur), sets.push_back(cur);
      cur.clear();
    }
    if (sets.empty()) usageFail(fmt::format("--run '{}': expected NAME=VALUE;NAME=VALUE...", run));
    p.listed.push_back(sets);
  }
  if (p.listed.empty()) p.listed.emplace_back();
  size_t grid = 1;
  for (const auto& [n, v] : p.axes) grid *= v.size();
  const size_t total = grid * p.listed.size();
  if (total > 100000) usageFail(fmt::format("the sweep has {} runs; at most 100000", total));
  for (size_t k = 0; k < total; ++k) {
    SweepRun r;
    r.index = static_cast<int>(k);
    const std::vector<std::string>& listed = p.listed[k / grid];
    // The last axis varies fastest, as nested loops in --set order would.
    std::vector<size_t> pick(p.axes.size());
    size_t rest = k % grid;
    for (size_t a = p.axes.size(); a-- > 0;) pick[a] = rest % p.axes[a].second.size(), rest /= p.axes[a].second.size();
    r.name = fmt::format("{:03d}", k);
    for (const std::string& s : listed) {
      r.sets.push_back(s);
      const size_t eq = s.find('=');
      r.name += "-" + nameSafe(shortName(s.substr(0, eq))) + "=" + nameSafe(s.substr(eq + 1));
    }
    for (size_t a = 0; a < p.axes.size(); ++a) {
      const auto& [name, values] = p.axes[a];
      r.sets.push_back(name + "=" + values[pick[a]]);
      if (values.size() > 1) r.name += "-" + nameSafe(shortName(name)) + "=" + nameSafe(values[pick[a]]);
    }
    r.args = {"run", p.model};
    for (const auto& s : r.sets) r.args.push_back("--set"), r.args.push_back(s);
    if (!data.empty()) r.args.push_back("--data"), r.args.push_back(data);
    if (o.steps) r.args.push_back("--steps"), r.args.push_back(std::to_string(*o.steps));
    if (o.batch) r.args.push_back("--batch"), r.args.push_back(std::to_string(*o.batch));
    if (o.seed) r.args.push_back("--seed"), r.args.push_back(std::to_string(*o.seed));
    if (o.engine != "jit") r.args.push_back("--engine"), r.args.push_back(o.engine);
    if (o.noStats) r.args.push_back("--no-stats");
    // One thread, in every way a sweep runs: a local sweep already runs one child per core and a Slurm task has
    // one CPU (--cpus-per-task=1), where a team would only fight over the cores; and a run's floats depend on
    // its thread count (sums over the batch split across a team), so runs made anywhere agree.
    r.args.push_back("--threads"), r.args.push_back("1");
    r.args.push_back("--out"), r.args.push_back((fs::path(p.folder) / r.name).string());
    r.args.push_back("--quiet"), r.args.push_back("--force");
    p.runs.push_back(std::move(r));
  }
  return p;
}

}  // namespace netc::driver
