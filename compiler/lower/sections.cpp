// Lowering, the sections: data (the dataset file, its vocabulary and the constants V and T), train (steps,
// batch, optimizer, learning-rate schedule, probes) and sample.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <set>

#include "lower/lowerer.h"
#include "support/files.h"

namespace netc {

double TrainSpec::learningRate(int64_t step) const {
  double rate = lr.back().lr;
  for (const auto& seg : lr)
    if (seg.until < 0 || step < seg.until) {
      rate = seg.lr;
      break;
    }
  // As makemore and nanoGPT write it: warmup ramps linearly to the rate, then cosine decays it to min_lr.
  if (warmup > 0 && step < warmup) return rate * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (cosine && steps > warmup) {
    double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, steps - warmup));
    return minLr + 0.5 * (rate - minLr) * (1 + std::cos(M_PI * std::min(1.0, progress)));
  }
  return rate;
}

const SectionEntry* Lowerer::entry(const Stmt& s, std::string_view key) {
  for (const auto& e : s.entries)
    if (e.key == key) return &e;
  return nullptr;
}

void Lowerer::checkKeys(const Stmt& s, const std::vector<std::string>& keys) {
  std::set<std::string> seen;
  for (const auto& e : s.entries) {
    if (std::find(keys.begin(), keys.end(), e.key) == keys.end())
      err(e.loc, fmt::format("unknown setting '{}' in the {} section{}", e.key, s.kind == Stmt::Data ? "data" : s.name,
                             didYouMean(e.key, keys)));
    if (!seen.insert(e.key).second) err(e.loc, fmt::format("setting '{}' is given twice", e.key));
  }
}

const Expr& Lowerer::single(const SectionEntry& e) {
  if (e.items.size() != 1 || e.items[0].until)
    err(e.loc, fmt::format("'{}' takes a single value", e.key));
  return *e.items[0].value;
}

void Lowerer::data(const Stmt& s) {
  if (haveData_) err(s.loc, "only one data section is allowed");
  haveData_ = true;
  checkKeys(s, {"context", "split", "seed", "shuffle", "form"});
  DataSpec& d = model_.data;
  d.loc = s.nameLoc;
  if (auto* e = entry(s, "form"))
    d.form = choice(single(*e), "data form", {"context", "sequence"}) == 0 ? DataForm::Context : DataForm::Sequence;
  if (d.form == DataForm::Sequence)
    for (const char* key : {"context", "split"})
      if (auto* e = entry(s, key))
        err(e->loc, fmt::format("'{}' is a setting of the context form: the sequence form's block size T is the longest "
                                "word + 1, and its test split min(1000, 10% of the words)", key));
  if (auto* e = entry(s, "shuffle"))
    d.shuffle = choice(single(*e), "shuffle", {"netc", "python"}) == 0 ? Shuffle::Netc : Shuffle::Python;
  if (auto* e = entry(s, "context")) d.context = constInt(single(*e), "the context length", 1, kMaxContext);
  if (auto* e = entry(s, "seed")) d.seed = constSeed(single(*e), "the split seed");
  if (auto* e = entry(s, "split")) {
    if (e->items.size() != 3)
      err(e->loc, fmt::format("'split' takes three fractions (train, dev, test), found {}", e->items.size()));
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
      const Expr& x = *e->items[i].value;
      d.split[i] = constEval(x);
      if (d.split[i] < 0 || d.split[i] > 1)
        err(x.loc, fmt::format("split fraction {} is out of range: expected a number in [0, 1]", d.split[i]));
      sum += d.split[i];
    }
    if (std::fabs(sum - 1.0) > 1e-6)
      err(e->loc, fmt::format("split fractions must add up to 1, found {:.6g}", sum));
    if (d.split[0] <= 0) err(e->items[0].value->loc, "the training fraction must be above 0");
  }
  namespace fs = std::filesystem;
  if (!opts_.dataOverride.empty()) d.path = opts_.dataOverride;
  else {
    fs::path p(s.name);
    d.path = p.is_absolute() ? p.string() : (fs::path(src_->path()).parent_path() / p).lexically_normal().string();
  }
  if (std::string why = inputFileProblem(d.path); !why.empty()) {
    const bool missing = why == "no such file";
    if (opts_.dataOverride.empty())
      err(s.nameLoc, missing ? fmt::format("dataset file '{}' not found (resolved to '{}'): run tools/get-names.sh, "
                                           "or pass --data FILE", s.name, d.path)
                             : fmt::format("cannot read dataset file '{}' (resolved to '{}'): {}", s.name, d.path, why));
    fail(missing ? fmt::format("dataset file '{}' (from --data) not found", d.path)
                 : fmt::format("cannot read dataset file '{}' (from --data): {}", d.path, why));
  }
  // Read once, here: the vocabulary and later the examples come from these words, so a FIFO or /dev/stdin
  // works and a file that changes in between cannot give the two different contents.
  d.file = std::make_shared<const WordFile>(readWordFile(d.path));
  model_.vocab = Vocabulary(d.file->words);
  if (d.form == DataForm::Sequence) {
    size_t longest = 0;
    for (const auto& w : d.file->words) longest = std::max(longest, w.size());
    if (longest + 1 > static_cast<size_t>(kMaxContext))
      err(s.nameLoc, fmt::format("the longest word has {} characters: the sequence form allows {} at most", longest,
                                 kMaxContext - 1));
    d.context = static_cast<int64_t>(longest) + 1;
  }
  scope_->bindConst("V", Folded::of(model_.vocab.size()));
  scope_->bindConst("T", Folded::of(d.context));
  model_.constants["V"] = scope_->constAt("V").value;
  model_.constants["T"] = scope_->constAt("T").value;
}

void Lowerer::trainSection(const Stmt& s) {
  checkKeys(s, {"steps", "batch", "optimizer", "lr", "seed", "log_every", "eval_every", "probe_every", "probes",
                "saturation", "momentum", "nesterov", "betas", "eps", "weight_decay", "clip_norm", "warmup", "decay",
                "min_lr", "generator", "global_seed"});
  TrainSpec& t = model_.train;
  if (auto* e = entry(s, "generator")) {
    t.generator = choice(single(*e), "generator", {"netc", "torch"}) == 0 ? Generator::Netc : Generator::Torch;
  }
  if (auto* e = entry(s, "steps")) t.steps = constInt(single(*e), "steps", 1, kMaxSteps);
  if (auto* e = entry(s, "batch")) {
    t.batch = constInt(single(*e), "the batch size", 1);
    batchLoc_ = single(*e).loc;
  }
  if (auto* e = entry(s, "seed")) t.seed = constSeed(single(*e), "the seed");
  if (auto* e = entry(s, "global_seed")) t.globalSeed = constSeed(single(*e), "the global seed");
  if (auto* e = entry(s, "log_every")) t.logEvery = constInt(single(*e), "log_every", 1, kMaxSteps);
  if (auto* e = entry(s, "eval_every")) t.evalEvery = constInt(single(*e), "eval_every", 0, kMaxSteps);
  if (auto* e = entry(s, "probe_every")) t.probeEvery = constInt(single(*e), "probe_every", 1, kMaxSteps);
  if (auto* e = entry(s, "probes")) {
    const Expr& v = single(*e);
    const std::vector<std::string> kinds = {"all", "marked"};
    std::string name = v.kind == Expr::Name ? v.name : exprText(v);
    if (v.kind != Expr::Name || (name != "all" && name != "marked"))
      err(v.loc, fmt::format("unknown probe set '{}': expected all (every activation layer, BatchNorm output and the "
                             "logits, plus the values marked @probe) or marked (the marked values and the logits){}",
                             name, didYouMean(v.kind == Expr::Name ? name : "", kinds)));
    markedProbesOnly_ = name == "marked";
  }
  if (auto* e = entry(s, "saturation")) {
    t.saturation = constEval(single(*e));
    // Above 0.5: a sigmoid's low side is s < 1 - saturation, which must lie below its high side.
    if (!(t.saturation > 0.5 && t.saturation < 1))
      err(e->loc, fmt::format("saturation threshold must lie in (0.5, 1), found {}", t.saturation));
  }
  optimizerSettings(s, t);
  if (auto* e = entry(s, "lr")) {
    t.lr.clear();
    int64_t prev = 0;
    for (size_t i = 0; i < e->items.size(); ++i) {
      const SectionItem& it = e->items[i];
      double lr = constEval(*it.value);
      if (!(lr > 0)) err(it.value->loc, fmt::format("learning rate must be positive, found {}", lr));
      int64_t until = -1;
      if (it.until) {
        until = constInt(*it.until, "the step of a learning-rate change", 1, kMaxSteps);
        if (until <= prev) err(it.until->loc, fmt::format("learning-rate steps must increase: {} after {}", until, prev));
        prev = until;
      } else if (i + 1 != e->items.size()) {
        err(it.value->loc, "every learning rate but the last needs 'until STEP', e.g. lr = 0.1 until 100000, 0.01");
      }
      t.lr.push_back({lr, until});
    }
  }
}

// A setting that names one of `options` (a bare name, as `shuffle = python`): its index, else a located error
// listing them.
size_t Lowerer::choice(const Expr& v, const char* setting, const std::vector<std::string>& options) {
  auto it = v.kind == Expr::Name ? std::find(options.begin(), options.end(), v.name) : options.end();
  if (it == options.end())
    err(v.loc, fmt::format("unknown {} '{}': expected {}{}", setting, v.kind == Expr::Name ? v.name : exprText(v),
                           fmt::join(options, " or "), didYouMean(v.kind == Expr::Name ? v.name : "", options)));
  return static_cast<size_t>(it - options.begin());
}

// optimizer = sgd | momentum | adam | adamw and the settings each takes, named as torch.optim names them.
void Lowerer::optimizerSettings(const Stmt& s, TrainSpec& t) {
  OptimizerSpec& o = t.optimizer;
  static const std::vector<std::string> kinds = {"sgd", "momentum", "adam", "adamw"};
  if (auto* e = entry(s, "optimizer")) {
    const Expr& v = single(*e);
    auto it = v.kind == Expr::Name ? std::find(kinds.begin(), kinds.end(), v.name) : kinds.end();
    if (it == kinds.end())
      err(v.loc, fmt::format("unknown optimizer '{}': expected sgd, momentum, adam or adamw{}",
                             v.kind == Expr::Name ? v.name : exprText(v), didYouMean(v.kind == Expr::Name ? v.name : "", kinds)));
    o.kind = static_cast<OptimizerSpec::Kind>(it - kinds.begin());
  }
  const bool adam = o.kind == OptimizerSpec::Adam || o.kind == OptimizerSpec::AdamW;
  if (o.kind == OptimizerSpec::AdamW) o.weightDecay = 0.01;  // torch.optim.AdamW's default
  auto onlyFor = [&](const char* key, bool ok, const char* which) {
    const SectionEntry* e = entry(s, key);
    if (e && !ok)
      err(e->loc, fmt::format("'{}' is a setting of {}, but the optimizer is {}", key, which, optimizerName(o.kind)));
    return e;
  };
  auto fraction = [&](const Expr& x, const char* what) {
    double v = constEval(x);
    if (!(v >= 0 && v < 1)) err(x.loc, fmt::format("{} must lie in [0, 1), found {}", what, v));
    return v;
  };
  if (auto* e = onlyFor("momentum", o.kind == OptimizerSpec::Momentum, "optimizer = momentum"))
    o.momentum = fraction(single(*e), "momentum");
  if (auto* e = onlyFor("nesterov", o.kind == OptimizerSpec::Momentum, "optimizer = momentum")) {
    const Expr& v = single(*e);
    if (v.kind != Expr::Name || (v.name != "true" && v.name != "false"))
      err(v.loc, "nesterov takes true or false");
    o.nesterov = v.name == "true";
  }
  if (auto* e = onlyFor("betas", adam, "adam and adamw")) {
    if (e->items.size() != 2) err(e->loc, fmt::format("'betas' takes two values (beta1, beta2), found {}", e->items.size()));
    o.beta1 = fraction(*e->items[0].value, "beta1");
    o.beta2 = fraction(*e->items[1].value, "beta2");
  }
  if (auto* e = onlyFor("eps", adam, "adam and adamw")) {
    o.eps = constEval(single(*e));
    if (!(o.eps > 0)) err(e->loc, fmt::format("eps must be positive, found {}", o.eps));
  }
  if (auto* e = entry(s, "weight_decay")) {
    o.weightDecay = constEval(single(*e));
    if (!(o.weightDecay >= 0)) err(e->loc, fmt::format("weight_decay must be 0 or more, found {}", o.weightDecay));
  }
  if (auto* e = entry(s, "clip_norm")) {
    o.clipNorm = constEval(single(*e));
    if (!(o.clipNorm > 0)) err(e->loc, fmt::format("clip_norm must be positive, found {}", o.clipNorm));
  }
  if (auto* e = entry(s, "warmup")) t.warmup = constInt(single(*e), "warmup", 0);
  if (auto* e = entry(s, "decay")) {
    const Expr& v = single(*e);
    if (v.kind != Expr::Name || (v.name != "cosine" && v.name != "none"))
      err(v.loc, fmt::format("unknown decay '{}': expected cosine or none", v.kind == Expr::Name ? v.name : exprText(v)));
    t.cosine = v.name == "cosine";
  }
  if (auto* e = entry(s, "min_lr")) {
    if (!t.cosine) err(e->loc, "'min_lr' is the end of the cosine decay: it needs decay = cosine");
    t.minLr = constEval(single(*e));
    if (!(t.minLr >= 0)) err(e->loc, fmt::format("min_lr must be 0 or more, found {}", t.minLr));
  }
}

void Lowerer::sampleSection(const Stmt& s) {
  checkKeys(s, {"count", "seed"});
  if (auto* e = entry(s, "count")) model_.sample.count = constInt(single(*e), "count", 0, kMaxSampleCount);
  if (auto* e = entry(s, "seed")) model_.sample.seed = constSeed(single(*e), "the seed");
}

}  // namespace netc
