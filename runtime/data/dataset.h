// The training data of a character-level model, built exactly like makemore's build_dataset: every word,
// followed by '.', yields one example per character; the context is the T previous characters, padded
// with '.' (index 0) at the start of the word. The WORDS are split into train/dev/test (not the examples),
// so no word contributes to two splits.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "lower/model.h"

namespace netc {

// (context, next character) pairs, row-major: x holds size()*context indices, y holds size()*targets (1 in
// the context form; T in the sequence form, -1 marking positions past a word's end).
struct Examples {
  int64_t context = 0;
  int64_t targets = 1;
  std::vector<int32_t> x;
  std::vector<int32_t> y;
  int64_t size() const { return static_cast<int64_t>(y.size()) / targets; }
  // Targets of examples [start, start + n) that count (not -1): what a mean loss over them divides by.
  int64_t counted(int64_t start, int64_t n) const {
    int64_t c = 0;
    for (int64_t i = start * targets; i < (start + n) * targets; ++i) c += y[i] >= 0;
    return c;
  }
  // Copies example `i` into row `slot` of a minibatch (xb: context indices per row, yb: targets per row).
  void gather(int64_t i, int64_t slot, std::vector<int32_t>& xb, std::vector<int32_t>& yb) const {
    copyRow(x.data() + i * context, context, xb.data() + slot * context);
    copyRow(y.data() + i * targets, targets, yb.data() + slot * targets);
  }

 private:
  // A row is a few indices (3 for the lecture's MLP): a call to memmove per row, which std::copy_n or a plain
  // loop becomes, cost more than the copy (5% of a 200k-step run). Fixed-size pieces are inlined moves.
  static void copyRow(const int32_t* src, int64_t n, int32_t* dst) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) std::memcpy(dst + j, src + j, 16);
    switch (n - j) {
      case 3: dst[j + 2] = src[j + 2]; [[fallthrough]];
      case 2: dst[j + 1] = src[j + 1]; [[fallthrough]];
      case 1: dst[j] = src[j]; break;
      default: break;
    }
  }
};

// The sequence form, as makemore.py's CharDataset: word w gives x = [0, w..., 0, ...] and
// y = [w..., 0, -1, ...], both `block` long (block = longest word + 1).
Examples buildSequences(const std::vector<std::string>& words, const Vocabulary& vocab, int64_t block);

// The examples of `words` for block size `context`. Every character must be in `vocab` (checked).
Examples buildExamples(const std::vector<std::string>& words, const Vocabulary& vocab, int64_t context);

enum class Split { Train = 0, Dev = 1, Test = 2 };
inline const char* splitName(Split s) { return s == Split::Train ? "train" : s == Split::Dev ? "dev" : "test"; }

// The words shuffled with Rng(seed) (Fisher-Yates), or with CPython's random.seed(seed); random.shuffle()
// for Shuffle::Python, and cut at floor(f0*n) and floor((f0+f1)*n), as makemore does with int(0.8*n),
// int(0.9*n). A split with a fraction above 0 that would get no words is an error naming the file, the word
// count and the fractions.
std::array<std::vector<std::string>, 3> splitWords(const std::vector<std::string>& words, const double fractions[3],
                                                   uint64_t seed, const std::string& path,
                                                   Shuffle shuffle = Shuffle::Netc);

struct Dataset {
  std::string path;
  Vocabulary vocab;
  int64_t context = 0;
  int64_t wordCount = 0;
  std::array<int64_t, 3> words{};  // words per split
  std::array<Examples, 3> splits;
  const Examples& operator[](Split s) const { return splits[static_cast<int>(s)]; }
};

// Reads spec.path and builds the three splits. The file's vocabulary must be the model's (`vocab`, from
// lowering): a file that changed since, or a model lowered from another file, is a clear error.
Dataset loadDataset(const DataSpec& spec, const Vocabulary& vocab);

}  // namespace netc
