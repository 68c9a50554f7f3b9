#include "runtime/run_folder.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "runtime/safetensors.h"
#include "support/diag.h"
#include "support/files.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

std::FILE* openCsv(const std::string& path, const char* header) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) fail(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  fmt::print(f, "{}\n", header);
  return f;
}

}  // namespace

std::string RunFolder::defaultPath(const std::string& root, const std::string& model) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  std::string base = (fs::path(root) / fmt::format("{}-{}", model, stamp)).string();
  std::string p = base;
  for (int i = 2; fs::exists(p); ++i) p = fmt::format("{}-{}", base, i);
  return p;
}

RunFolder::RunFolder(std::string path) : path_(std::move(path)) {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec || !fs::is_directory(path_))
    fail(fmt::format("cannot create the run folder '{}': {}", path_, ec ? ec.message() : "not a directory"));
  losses_ = openCsv(file("losses.csv"), "step,loss,lr");
  evals_ = openCsv(file("evals.csv"), "done,split,loss");
}

RunFolder::~RunFolder() {
  if (losses_) std::fclose(losses_);
  if (evals_) std::fclose(evals_);
}

std::string RunFolder::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

void RunFolder::writeJson(const std::string& name, const nlohmann::json& j) {
  std::string p = file(name), tmp = p + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) fail(fmt::format("cannot write '{}'", tmp));
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) fail(fmt::format("cannot write '{}': {}", p, ec.message()));
}

void RunFolder::writeSamples(const std::vector<std::string>& words) {
  std::ofstream out(file("samples.txt"));
  for (const auto& w : words) out << w << "\n";
  if (!out) fail(fmt::format("cannot write '{}'", file("samples.txt")));
}

void RunFolder::onStep(int64_t step, double loss, double lr) {
  // fmt formats into a stack buffer and stdio buffers the file: no allocation per step.
  fmt::print(losses_, "{},{:.6g},{:g}\n", step, loss, lr);
}

void RunFolder::onEval(int64_t done, const SplitLosses& l) {
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    if (!std::isnan(l[s])) fmt::print(evals_, "{},{},{:.6f}\n", done, splitName(s), l[s]);
  std::fflush(evals_);
}

void RunFolder::onCheckpoint(int64_t done, const WeightMap& w) {
  saveSafetensors(file("weights.safetensors"), w);
  std::fflush(losses_);  // the history up to the checkpoint survives a crash after it
}

nlohmann::json describeVocabulary(const Vocabulary& v) { return {{"chars", v.chars}, {"size", v.size()}}; }

WeightMap loadWeightsFor(const Model& m, const std::string& path) {
  if (std::string why = inputFileProblem(path); !why.empty())
    fail(why == "no such file" ? fmt::format("weights file '{}' not found", path)
                               : fmt::format("cannot read weights file '{}': {}", path, why));
  WeightMap w = loadSafetensors(path);
  fs::path config = fs::path(path).parent_path() / "config.json";
  std::ifstream in(config);
  if (!in) return w;  // not from a run folder: only the shapes can be checked
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("vocabulary") || !j["vocabulary"].contains("chars")) return w;
  std::string chars = j["vocabulary"]["chars"].is_string() ? j["vocabulary"]["chars"].get<std::string>() : "";
  if (!chars.empty() && chars != m.vocab.chars)
    fail(fmt::format("{}: these weights were trained on the vocabulary \"{}\" ({} characters, see {}), but the model's "
                     "dataset '{}' has \"{}\" ({} characters): pass the same data file with --data",
                     path, chars, chars.size(), config.string(), m.data.path, m.vocab.chars, m.vocab.size()));
  return w;
}

}  // namespace netc
