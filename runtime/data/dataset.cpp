#include "runtime/data/dataset.h"

#include <cmath>
#include <fmt/format.h>

#include "runtime/random/python_random.h"
#include "runtime/random/rng.h"
#include "support/diag.h"
#include "support/sizes.h"

namespace netc {

Examples buildExamples(const std::vector<std::string>& words, const Vocabulary& vocab, int64_t context) {
  if (context < 1) fail(fmt::format("the context length must be at least 1, found {}", context));
  Examples ex;
  ex.context = context;
  int64_t total = 0;
  for (const auto& w : words) total = checkedAdd(total, static_cast<int64_t>(w.size()) + 1, "the number of examples");
  // x holds total * context indices: checked, and checked against memory before it is reserved.
  const int64_t indices = checkedMul(total, context, "the examples' contexts");
  checkFitsInMemory(checkedMul(checkedAdd(indices, total, "the examples"), 4, "the examples"),
                    fmt::format("the dataset's {} examples with a context of {}", total, context),
                    ": use a shorter context or a smaller dataset");
  ex.x.reserve(static_cast<size_t>(indices));
  ex.y.reserve(static_cast<size_t>(total));
  std::vector<int32_t> ctx(context);
  for (const auto& w : words) {
    std::fill(ctx.begin(), ctx.end(), 0);
    // The word's characters, then '.' (index 0) as the last target.
    for (size_t i = 0; i <= w.size(); ++i) {
      int32_t ix = 0;
      if (i < w.size()) {
        ix = vocab.index[static_cast<unsigned char>(w[i])];
        if (ix < 0)
          fail(fmt::format("the word '{}' uses the character '{}', which is not in the model's vocabulary \"{}\"", w,
                           w[i], vocab.chars));
      }
      ex.x.insert(ex.x.end(), ctx.begin(), ctx.end());
      ex.y.push_back(ix);
      // Slide the window: drop the oldest character, append the new one.
      std::copy(ctx.begin() + 1, ctx.end(), ctx.begin());
      ctx.back() = ix;
    }
  }
  return ex;
}

Examples buildSequences(const std::vector<std::string>& words, const Vocabulary& vocab, int64_t block) {
  Examples ex;
  ex.context = ex.targets = block;
  const int64_t n = static_cast<int64_t>(words.size());
  checkFitsInMemory(checkedMul(checkedMul(n, block, "the sequences"), 8, "the sequences"),
                    fmt::format("the dataset's {} sequences of {}", n, block), ": use a smaller dataset");
  ex.x.assign(static_cast<size_t>(n * block), 0);
  ex.y.assign(static_cast<size_t>(n * block), -1);
  for (int64_t i = 0; i < n; ++i) {
    const std::string& w = words[i];
    if (static_cast<int64_t>(w.size()) + 1 > block)
      fail(fmt::format("the word '{}' has {} characters, more than the block size {} allows", w, w.size(), block));
    for (size_t j = 0; j <= w.size(); ++j) {
      int32_t ix = 0;
      if (j < w.size()) {
        ix = vocab.index[static_cast<unsigned char>(w[j])];
        if (ix < 0)
          fail(fmt::format("the word '{}' uses the character '{}', which is not in the model's vocabulary \"{}\"", w,
                           w[j], vocab.chars));
        ex.x[i * block + j + 1] = ix;
      }
      ex.y[i * block + j] = ix;
    }
  }
  return ex;
}

std::array<std::vector<std::string>, 3> splitWords(const std::vector<std::string>& words, const double fractions[3],
                                                   uint64_t seed, const std::string& path, Shuffle shuffle) {
  std::vector<std::string> shuffled = words;
  if (shuffle == Shuffle::Python) {
    if (shuffled.size() > UINT32_MAX) fail(fmt::format("{}: shuffle = python handles up to 2^32 words", path));
    PythonRandom(seed).shuffle(shuffled);
  } else {
    Rng rng(seed);
    for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng.below(i)]);
  }
  const size_t n = shuffled.size();
  // The tiny epsilon keeps 0.29*100 = 28.999999999999996 from losing a word to rounding.
  auto cut = [n](double f) { return std::min(n, static_cast<size_t>(std::floor(f * static_cast<double>(n) + 1e-9))); };
  size_t n1 = cut(fractions[0]);
  size_t n2 = fractions[2] > 0 ? cut(fractions[0] + fractions[1]) : n;
  size_t bounds[4] = {0, n1, std::max(n1, n2), n};
  std::array<std::vector<std::string>, 3> out;
  for (int s = 0; s < 3; ++s) {
    out[s].assign(shuffled.begin() + bounds[s], shuffled.begin() + bounds[s + 1]);
    if (fractions[s] > 0 && out[s].empty())
      fail(fmt::format("{}: the dataset has {} word{}, too few for the split {}/{}/{}: the {} split gets no words "
                       "(use a bigger file, or a split that gives every part at least one word)",
                       path, n, n == 1 ? "" : "s", fractions[0], fractions[1], fractions[2],
                       splitName(static_cast<Split>(s))));
  }
  return out;
}

Dataset loadDataset(const DataSpec& spec, const Vocabulary& vocab) {
  // The words lowering read (a FIFO or /dev/stdin cannot be read twice); a spec made by hand reads its file.
  std::shared_ptr<const WordFile> file = spec.file ? spec.file : std::make_shared<const WordFile>(readWordFile(spec.path));
  const WordFile& wf = *file;
  Vocabulary own(wf.words);
  if (own.chars != vocab.chars)
    fail(fmt::format("{}: the file's vocabulary \"{}\" ({} characters) is not the model's \"{}\" ({}): was the "
                     "file changed after the model was loaded?",
                     spec.path, own.chars, own.size(), vocab.chars, vocab.size()));
  Dataset d;
  d.path = spec.path;
  d.vocab = vocab;
  d.context = spec.context;
  d.wordCount = static_cast<int64_t>(wf.words.size());
  if (spec.form == DataForm::Sequence) {
    // makemore.py: test_set_size = min(1000, int(len(words) * 0.1)), the rest trains; no dev split.
    const double n = static_cast<double>(wf.words.size());
    const double test = std::min(1000.0, std::floor(n * 0.1));
    const double fractions[3] = {(n - test) / n, 0, test / n};
    auto parts = splitWords(wf.words, fractions, spec.seed, spec.path, spec.shuffle);
    for (int s = 0; s < 3; ++s) {
      d.words[s] = static_cast<int64_t>(parts[s].size());
      d.splits[s] = buildSequences(parts[s], vocab, spec.context);
    }
    return d;
  }
  auto parts = splitWords(wf.words, spec.split, spec.seed, spec.path, spec.shuffle);
  for (int s = 0; s < 3; ++s) {
    d.words[s] = static_cast<int64_t>(parts[s].size());
    d.splits[s] = buildExamples(parts[s], vocab, spec.context);
  }
  return d;
}

}  // namespace netc
