// Probes during training (the trainer's instrumented step, stats.jsonl) and report.html, rendered in headless
// Chromium to check that every figure is drawn.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <unistd.h>

#include "lower/model.h"
#include "runtime/data/dataset.h"
#include "runtime/pages/report.h"
#include "runtime/files/safetensors.h"
#include "runtime/runs/stats_observer.h"
#include "runtime/training/trainer.h"
#include "headless_chromium.h"
#include "test_util.h"

using namespace netc;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("netc_report_{}_{}", ::getpid(), name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

Model lectureModel() { return testing::shippedModel("mlp_original.net"); }

TrainSpec shortRun(const Model& m) {
  TrainSpec s = m.train;
  s.steps = 25, s.probeEvery = 10, s.evalEvery = 10, s.logEvery = 10;
  return s;
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using testing::haveChromium;
std::pair<int, std::string> shell(const std::string& cmd) { return testing::shellOutput(cmd); }

// The DOM that headless Chromium ends with once the page's script has run; `fragment` is appended to the URL
// (the page reads switches from it: "#last", "#biases").
std::string renderedDom(const fs::path& page, const std::string& fragment = "") {
  std::string dom = testing::renderedDom(page, scratch("chromium-profile"), fragment);
  REQUIRE_MESSAGE(!dom.empty(), "chromium failed on ", page.string());
  return dom;
}

// The name="value" pairs of a start tag's text; the page's attribute values never contain quotes.
std::map<std::string, std::string> attributes(const std::string& text) {
  std::map<std::string, std::string> attrs;
  for (size_t at = 0; (at = text.find("=\"", at)) != std::string::npos;) {
    size_t nameStart = text.rfind(' ', at) + 1, end = text.find('"', at + 2);
    if (end == std::string::npos) break;
    attrs[text.substr(nameStart, at - nameStart)] = text.substr(at + 2, end - at - 2);
    at = end + 1;
  }
  return attrs;
}

// The <body> attributes the page's script sets once it has drawn its figures.
std::map<std::string, std::string> bodyOf(const std::string& dom) {
  size_t open = dom.find("<body"), close = dom.find('>', open);
  REQUIRE_MESSAGE((open != std::string::npos && close != std::string::npos), "no <body> in the rendered page");
  return attributes(dom.substr(open + 5, close - open - 5));
}

std::map<std::string, std::string> renderedBody(const fs::path& page) { return bodyOf(renderedDom(page)); }

// The <figure> with id `id` in a rendered DOM: its attributes, its markup (empty when there is none).
struct RenderedFigure {
  std::map<std::string, std::string> attrs;
  std::string html;
  // The lines (SVG paths of class "series") drawn in it.
  size_t lines() const {
    size_t n = 0;
    for (size_t at = 0; (at = html.find("class=\"series\"", at)) != std::string::npos; ++at) ++n;
    return n;
  }
};
RenderedFigure figureOf(const std::string& dom, const std::string& id) {
  RenderedFigure f;
  size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return f;
  size_t open = dom.rfind("<figure", at), close = dom.find('>', at), end = dom.find("</figure>", at);
  REQUIRE((open != std::string::npos && close != std::string::npos && end != std::string::npos));
  f.attrs = attributes(dom.substr(open + 7, close - open - 7));
  f.html = dom.substr(open, end - open);
  return f;
}

// A short training run of the lecture's original model with probes, into `dir`.
std::unique_ptr<StatsObserver> train(const Model& m, const fs::path& dir, EngineKind kind, WeightMap* weights = nullptr) {
  TrainSpec spec = shortRun(m);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer t(m, spec, kind);
  t.enableProbes(instrumentOptions(m, spec));
  auto obs = std::make_unique<StatsObserver>(m, spec, *t.probePlan(), dir.string(), nullptr);
  TrainResult r = t.train(d, {obs.get()});
  REQUIRE(!r.diverged);
  obs->finish();
  if (weights) *weights = t.weights();
  return obs;
}

}  // namespace

TEST_CASE("training with probes: statistics at step 0, every probe_every steps and the last step") {
  Model m = lectureModel();
  fs::path dir = scratch("probes");
  auto obs = train(m, dir, EngineKind::Interp);
  std::vector<StatsSnapshot> log = readStatsLog((dir / "stats.jsonl").string());
  REQUIRE(log.size() == 4);
  REQUIRE(obs->snapshots().size() == 4);
  CHECK(toJson(obs->snapshots()[2]) == toJson(log[2]));  // the file holds what was measured
  CHECK(log[0].step == 0);
  CHECK(log[1].step == 10);
  CHECK(log[2].step == 20);
  CHECK(log[3].step == 24);
  // At step 0 the original model is confidently wrong and its layer saturated, as the lecture shows.
  const ProbeStats* h = log[0].probe("h");
  REQUIRE(h);
  CHECK(log[0].loss > 3 * std::log(27.0));
  CHECK(h->saturatedShare > 0.5);
  CHECK(log[0].params.size() == 5);
  CHECK(fs::exists(dir / "report.html"));
  CHECK(!fs::exists(dir / "report.html.tmp"));
}

TEST_CASE("statistics: the loss curve's memory does not grow with the number of steps") {
  Model m = lectureModel();
  TrainSpec spec = shortRun(m);
  Trainer t(m, spec, EngineKind::Interp);
  t.enableProbes(instrumentOptions(m, spec));
  spec.steps = kMaxSteps;  // 10^9 steps: one reserved point per step was 16 GB
  fs::path dir = scratch("bounded");
  StatsObserver obs(m, spec, *t.probePlan(), dir.string(), nullptr);
  CHECK(obs.lossCurveCapacity() <= 1'000'001);
  for (int64_t i = 0; i < 5000; ++i) obs.onStep(i, i < 1000 ? 3.0 : 2.0, 0.1);
  obs.finish();
  // Means over runs of 1000 steps, each at the run's first step.
  REQUIRE(obs.lossCurve().size() == 5);
  CHECK(obs.lossCurve()[0] == std::pair<int64_t, double>{0, 3.0});
  CHECK(obs.lossCurve()[4] == std::pair<int64_t, double>{4000, 2.0});
  CHECK(fs::exists(dir / "report.html"));
}

TEST_CASE("the instrumented step trains exactly like the plain one") {
  Model m = lectureModel();
  TrainSpec spec = shortRun(m);
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer plain(m, spec, EngineKind::Interp);
  plain.train(d, {});
  WeightMap probed;
  train(m, scratch("same"), EngineKind::Interp, &probed);
  WeightMap w = plain.weights();
  REQUIRE(w.size() == probed.size());
  for (auto& [name, t] : w) CHECK_MESSAGE(t.data == probed.at(name).data, name);
}

TEST_CASE("report.html: self-contained, and every figure drawn in headless Chromium") {
  Model m = lectureModel();
  fs::path dir = scratch("page");
  train(m, dir, EngineKind::Jit);
  std::string page = readFile(dir / "report.html");
  // Nothing to fetch: no external scripts, styles or images.
  CHECK(page.find("src=") == std::string::npos);
  CHECK(page.find("<link") == std::string::npos);
  CHECK(page.find("https://") == std::string::npos);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the report was written but not rendered");
    return;
  }
  auto body = renderedBody(dir / "report.html");
  CHECK(body["data-errors"] == "");
  CHECK(body["data-done"] == "1");
  // loss; the layers' activations, their gradients, the weight gradients, the update ratios; h outputs,
  // h pre-activations, saturation, dead-neuron image; logits
  CHECK(body["data-figures-expected"] == "10");
  CHECK(body["data-figures-drawn"] == body["data-figures-expected"]);
}

TEST_CASE("report.html: text from the run cannot break out of the page's script") {
  ReportData d;
  d.model = "m</script><b>";
  d.vocab = 27;
  d.train = {{0, 3.5}, {1, 3.4}};
  d.initialFindings = {{Finding::Warning, "x", "a </script><script>document.body.dataset.errors='injected'</script>"}};
  std::string page = renderReport(d);
  CHECK(page.find("</script><b>") == std::string::npos);
  CHECK(page.find("</script><script>document") == std::string::npos);
  fs::path dir = scratch("escape");
  writeReport((dir / "report.html").string(), d);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the page was not rendered");
    return;
  }
  auto body = renderedBody(dir / "report.html");
  CHECK(body["data-errors"] == "");
  CHECK(body["data-figures-expected"] == "1");  // the loss curve only: no statistics were collected
  CHECK(body["data-figures-drawn"] == "1");
}

namespace {

// models/deep_tanh.net with `replace` applied (pairs of text and its replacement), into `dir`.
fs::path deepVariant(const fs::path& dir, const std::vector<std::pair<std::string, std::string>>& replace) {
  std::string text = readFile(NETC_SOURCE_DIR "/models/deep_tanh.net");
  for (const auto& [from, to] : replace) {
    size_t at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    text.replace(at, from.size(), to);
  }
  fs::path model = dir / "deep.net";
  std::ofstream(model) << text;
  return model;
}

// netc run on the synthetic words (interpreter), into dir/name; returns the run folder.
fs::path runNetc(const fs::path& model, const fs::path& dir, const std::string& name, const std::string& args) {
  fs::path out = dir / name;
  auto [status, text] = shell(fmt::format("'{}' run '{}' --data '{}' --engine interp {} --out '{}' 2>&1", NETC_BINARY,
                                          model.string(), testing::kPseudoWords, args, out.string()));
  INFO(text);
  REQUIRE(status == 0);
  REQUIRE(fs::exists(out / "report.html"));
  return out;
}

// Every figure drawn, without errors.
void checkAllDrawn(const std::string& dom) {
  auto body = bodyOf(dom);
  CHECK(body["data-errors"] == "");
  CHECK(body["data-done"] == "1");
  CHECK(body["data-figures-drawn"] == body["data-figures-expected"]);
}

}  // namespace

TEST_CASE("report.html: the lecture's four figures for the 5-layer tanh network, at step 0 and after training") {
  fs::path dir = scratch("deep");
  // Collections at steps 0, 10, 20 and 29.
  fs::path model = deepVariant(dir, {{"probe_every = 1000", "probe_every = 10"}});
  fs::path start = runNetc(model, dir, "start", "--steps 0");
  fs::path trained = runNetc(model, dir, "trained", "--steps 30");
  std::string page = readFile(start / "report.html");
  CHECK(page.find("https://") == std::string::npos);
  // The counts the page must reach: loss curve, the four figures, and per layer its four cards, the logits' one.
  std::vector<StatsSnapshot> log = readStatsLog((start / "stats.jsonl").string());
  REQUIRE(log.size() == 1);
  ReportData d;
  d.snapshots = log;
  CHECK(reportFigureCount(d) == 1 + 4 + 5 * 4 + 1);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the reports were written but not rendered");
    return;
  }
  const char* ids[] = {"fig-activations", "fig-activation-grads", "fig-weight-grads", "fig-update"};
  // One line per tanh layer in figures 1 and 2, per rank-2 parameter (C, W1 ... W6) in figures 3 and 4.
  const size_t lines[] = {5, 5, 7, 7};
  for (const fs::path& run : {start, trained})
    for (const char* fragment : {"", "#last,biases"}) {
      INFO(run.filename().string(), fragment);
      std::string dom = renderedDom(run / "report.html", fragment);
      checkAllDrawn(dom);
      CHECK(bodyOf(dom)["data-figures-expected"] == "26");
      for (size_t i = 0; i < 4; ++i) {
        INFO(ids[i]);
        RenderedFigure f = figureOf(dom, ids[i]);
        CHECK(f.attrs["data-drawn"] == "1");
        CHECK(f.attrs.count("data-error") == 0);
        // #biases adds b1 ... b6 to the update ratios.
        size_t want = i == 3 && std::string(fragment) == "#last,biases" ? 13 : lines[i];
        CHECK(f.attrs["data-series"] == std::to_string(want));
        CHECK(f.lines() == want);
      }
      CHECK(figureOf(dom, "fig-activations").html.find("h1 (tanh): mean ") != std::string::npos);
      CHECK(figureOf(dom, "fig-activations").html.find("saturated ") != std::string::npos);
      CHECK(figureOf(dom, "fig-activation-grads").html.find("h5: mean ") != std::string::npos);
      CHECK(figureOf(dom, "fig-weight-grads").html.find("W1 [30, 100]: mean ") != std::string::npos);
      CHECK(figureOf(dom, "fig-weight-grads").html.find("grad:data ") != std::string::npos);
      // A single collection needs no switch between step 0 and the last one.
      CHECK((dom.find("id=\"step-switch\"") != std::string::npos) == (run == trained));
      if (run == trained && std::string(fragment) == "#last,biases")
        CHECK(figureOf(dom, "fig-activations").html.find("step 29") != std::string::npos);
    }
}

TEST_CASE("report.html: relu and sigmoid layers get their own panel and legends") {
  fs::path dir = scratch("kinds");
  fs::path model = deepVariant(dir, {{"h2 = tanh(", "h2 = relu("}, {"h4 = tanh(", "h4 = sigmoid("}});
  fs::path run = runNetc(model, dir, "start", "--steps 0");
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the report was written but not rendered");
    return;
  }
  std::string dom = renderedDom(run / "report.html");
  checkAllDrawn(dom);
  RenderedFigure act = figureOf(dom, "fig-activations");
  CHECK(act.lines() == 5);
  CHECK(act.html.find("relu layers") != std::string::npos);
  CHECK(act.html.find("h2 (relu): mean ") != std::string::npos);
  CHECK(act.html.find(", zero ") != std::string::npos);
  CHECK(act.html.find("h4 (sigmoid): mean ") != std::string::npos);
  CHECK(act.html.find(" near 0, ") != std::string::npos);
  CHECK(figureOf(dom, "fig-activation-grads").lines() == 5);
  CHECK(dom.find("Layer h2 (relu)") != std::string::npos);
  CHECK(dom.find("white where the output is exactly 0") != std::string::npos);
}

TEST_CASE("report.html: without activation layers or rank-2 parameters the counts still match") {
  // One value probe and one bias-like parameter: no figures 1-3, figure 4 shows the vector.
  StatsSnapshot s;
  s.step = 0, s.loss = 3.3, s.lr = 0.1;
  ProbeStats v;
  v.name = "logits", v.logits = true, v.spec.hist = true, v.units = 27, v.rows = 1;
  v.hist = {-20, 20, std::vector<double>(50, 1.0), 0, 0};
  v.grad.present = true, v.grad.hist = {-9, 1, std::vector<double>(50, 1.0), 0, 0};
  s.probes = {v};
  ParamStats b;
  b.name = "b", b.shape = {27}, b.updateToData = -3.1;
  s.params = {b};
  ReportData d;
  d.model = "tiny", d.vocab = 27, d.train = {{0, 3.3}, {1, 3.2}};
  d.snapshots = {s, s};
  d.snapshots[1].step = 1;
  CHECK(reportFigureCount(d) == 1 + 1 + 1);  // loss, logits, update ratios
  d.snapshots[0].params.clear(), d.snapshots[1].params.clear();
  CHECK(reportFigureCount(d) == 1 + 1);
  d.snapshots[0].params = d.snapshots[1].params = {b};
  fs::path dir = scratch("flat");
  writeReport((dir / "report.html").string(), d);
  if (!haveChromium()) {
    MESSAGE("chromium is not installed (apt-get install -y chromium): the page was not rendered");
    return;
  }
  std::string dom = renderedDom(dir / "report.html");
  checkAllDrawn(dom);
  CHECK(bodyOf(dom)["data-figures-expected"] == "3");
  CHECK(figureOf(dom, "fig-activations").html.empty());
  CHECK(figureOf(dom, "fig-weight-grads").html.empty());
  CHECK(figureOf(dom, "fig-update").lines() == 1);
}

TEST_CASE("netc run: the step-0 summary names the confident start, the saturated layer and dead units by index") {
  // The lecture's original model with its hidden layer started ten times larger.
  std::string text = readFile(NETC_SOURCE_DIR "/models/mlp_original.net");
  const std::string w1 = "param W1 : [T*E, H]  = randn";
  size_t at = text.find(w1);
  REQUIRE(at != std::string::npos);
  text.replace(at, w1.size(), w1 + " * 10");
  fs::path dir = scratch("cli");
  std::ofstream(dir / "big_w1.net") << text;
  auto [status, out] = shell(fmt::format("'{}' run '{}' --data '{}' --steps 1 --engine interp --out '{}' 2>&1",
                                         NETC_BINARY, (dir / "big_w1.net").string(),
                                         NETC_SOURCE_DIR "/tests/data/pseudo_words.txt", (dir / "run").string()));
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.find("confidently wrong") != std::string::npos);
  CHECK(out.find("Layer h is heavily saturated") != std::string::npos);
  const std::string lead = "Layer h has ";
  size_t found = out.find(lead);
  REQUIRE(found != std::string::npos);
  size_t digits = 0;
  int dead = std::stoi(out.substr(found + lead.size()), &digits);
  CHECK(dead > 10);
  std::string rest = out.substr(found + lead.size() + digits, 25);
  CHECK(rest == " dead units of 200 (index");
  CHECK(fs::exists(dir / "run" / "stats.jsonl"));
  CHECK(fs::exists(dir / "run" / "report.html"));
  // --no-stats: neither files nor summary.
  auto [status2, out2] = shell(fmt::format("'{}' run '{}' --data '{}' --steps 1 --engine interp --no-stats --out '{}' 2>&1",
                                           NETC_BINARY, (dir / "big_w1.net").string(),
                                           NETC_SOURCE_DIR "/tests/data/pseudo_words.txt", (dir / "plain").string()));
  CHECK(status2 == 0);
  CHECK(out2.find("dead unit") == std::string::npos);
  CHECK(!fs::exists(dir / "plain" / "stats.jsonl"));
}

TEST_CASE("netc grad --stats: the probe statistics of one batch, consistent with the gradients it writes") {
  fs::path dir = scratch("grad");
  const std::string fx = NETC_SOURCE_DIR "/tests/fixtures/torch_mlp";
  for (const char* engine : {"--interp", ""}) {
    INFO("engine ", engine);
    auto [status, out] = shell(fmt::format("'{}' grad '{}.net' --weights '{}_weights.safetensors' --inputs "
                                           "'{}_batch.safetensors' --out '{}' --stats '{}' {} 2>&1",
                                           NETC_BINARY, fx, fx, fx, (dir / "g.safetensors").string(),
                                           (dir / "s.json").string(), engine));
    INFO(out);
    REQUIRE(status == 0);
    CHECK(out.find("probe statistics") != std::string::npos);
    CHECK(out.find("uniform guess") != std::string::npos);
    StatsSnapshot s = snapshotFromJson(nlohmann::json::parse(readFile(dir / "s.json")));
    WeightMap grads = loadSafetensors((dir / "g.safetensors").string());
    REQUIRE(s.params.size() == grads.size());
    for (const ParamStats& p : s.params) {
      const std::vector<double>& g = grads.at(p.name).data;
      double mean = 0, ss = 0;
      for (double v : g) mean += v;
      mean /= static_cast<double>(g.size());
      for (double v : g) ss += (v - mean) * (v - mean);
      CHECK(p.gradStd == doctest::Approx(std::sqrt(ss / static_cast<double>(g.size() - 1))).epsilon(1e-4));
      CHECK(std::isfinite(p.updateToData));  // the model's learning rate, not the lr = 0 the pass runs with
    }
    REQUIRE(!s.probes.empty());
    CHECK(s.probes[0].layer);
  }
}
