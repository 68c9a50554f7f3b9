// Dataset construction: makemore's examples by hand, the word-level split, and every kind of bad data.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "runtime/data/dataset.h"
#include "support/diag.h"
#include "test_util.h"

using namespace netc;
using netc::testing::errorOf;
namespace fs = std::filesystem;

namespace {

std::string writeFile(const std::string& name, const std::string& text) {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("netc_ds_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::vector<std::string> words(int n) {
  std::vector<std::string> w;
  for (int i = 0; i < n; ++i) w.push_back(std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i));
  return w;
}

DataSpec spec(const std::string& path, double f0, double f1, double f2, int64_t T = 3, uint64_t seed = 42) {
  DataSpec s;
  s.path = path;
  s.context = T;
  s.split[0] = f0, s.split[1] = f1, s.split[2] = f2;
  s.seed = seed;
  return s;
}

}  // namespace

TEST_CASE("dataset: examples are makemore's (context padded with '.', every word ends in '.')") {
  Vocabulary v(std::vector<std::string>{"ab", "c"});
  REQUIRE(v.chars == ".abc");
  Examples ex = buildExamples({"ab", "c"}, v, 2);
  // ab: [..]->a [.a]->b [ab]->.   c: [..]->c [.c]->.
  CHECK(ex.size() == 5);
  CHECK(ex.x == std::vector<int32_t>{0, 0, 0, 1, 1, 2, 0, 0, 0, 3});
  CHECK(ex.y == std::vector<int32_t>{1, 2, 0, 3, 0});

  // The lecture's first word with block size 3: ... -> e, ..e -> m, .em -> m, emm -> a, mma -> .
  Vocabulary lv(std::vector<std::string>{"emma"});
  REQUIRE(lv.chars == ".aem");
  Examples emma = buildExamples({"emma"}, lv, 3);
  const int e = 2, m = 3, a = 1;
  CHECK(emma.x == std::vector<int32_t>{0, 0, 0, 0, 0, e, 0, e, m, e, m, m, m, m, a});
  CHECK(emma.y == std::vector<int32_t>{e, m, m, a, 0});

  // A context longer than the word stays padded at its start.
  Examples wide = buildExamples({"ab"}, v, 4);
  CHECK(wide.x == std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2});
}

TEST_CASE("dataset: the split is by words, shuffled by the seed, cut like int(0.8n) and int(0.9n)") {
  auto all = words(10);
  const double f[3] = {0.8, 0.1, 0.1};
  auto parts = splitWords(all, f, 42, "w.txt");
  CHECK(parts[0].size() == 8);
  CHECK(parts[1].size() == 1);
  CHECK(parts[2].size() == 1);
  std::multiset<std::string> joined;
  for (auto& p : parts) joined.insert(p.begin(), p.end());
  CHECK(joined == std::multiset<std::string>(all.begin(), all.end()));  // a partition: nothing lost or doubled

  CHECK(splitWords(all, f, 42, "w.txt") == parts);  // deterministic
  auto many = words(100);
  auto a = splitWords(many, f, 1, "w.txt"), b = splitWords(many, f, 2, "w.txt");
  CHECK(a[0] != b[0]);                               // the seed matters
  CHECK(a[0] != std::vector<std::string>(many.begin(), many.begin() + 80));  // and it does shuffle

  // 32033 names, as in makemore: 25626 / 3203 / 3204 words.
  auto names = words(32033);
  auto n = splitWords(names, f, 42, "names.txt");
  CHECK(n[0].size() == 25626);
  CHECK(n[1].size() == 3203);
  CHECK(n[2].size() == 3204);

  // A zero fraction gives an empty split, which is allowed; rounding does not drop a word (0.29 * 100 = 28.99..).
  const double noTest[3] = {0.9, 0.1, 0};
  auto nt = splitWords(many, noTest, 3, "w.txt");
  CHECK(nt[0].size() == 90);
  CHECK(nt[1].size() == 10);
  CHECK(nt[2].empty());
  const double odd[3] = {0.29, 0.71, 0};
  CHECK(splitWords(many, odd, 3, "w.txt")[0].size() == 29);
}

TEST_CASE("dataset: loadDataset builds each split from its own words only") {
  std::string text;
  for (auto& w : words(50)) text += w + "\n";
  std::string path = writeFile("fifty.txt", text);
  Vocabulary v(readWordFile(path).words);
  Dataset d = loadDataset(spec(path, 0.8, 0.1, 0.1, 3, 7), v);
  CHECK(d.wordCount == 50);
  CHECK(d.words == std::array<int64_t, 3>{40, 5, 5});
  // Each word "x<digits>" yields len+1 examples, and exactly one example per word targets '.'.
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    int64_t ends = 0;
    for (int32_t y : d[s].y) ends += y == 0;
    CHECK(ends == d.words[static_cast<int>(s)]);
    CHECK(d[s].x.size() == static_cast<size_t>(d[s].size() * 3));
  }
  Dataset again = loadDataset(spec(path, 0.8, 0.1, 0.1, 3, 7), v);
  CHECK(again[Split::Dev].x == d[Split::Dev].x);
  Dataset other = loadDataset(spec(path, 0.8, 0.1, 0.1, 3, 8), v);
  CHECK(other[Split::Train].y != d[Split::Train].y);
}

TEST_CASE("dataset: bad data is a clear error") {
  std::string good = writeFile("good.txt", "ab\nba\nabba\n");
  Vocabulary v(readWordFile(good).words);

  CHECK(errorOf([&] { loadDataset(spec("/no/such/names.txt", 0.8, 0.1, 0.1), v); }).find("cannot open dataset file") !=
        std::string::npos);
  std::string empty = writeFile("empty.txt", "\n\n");
  CHECK(errorOf([&] { loadDataset(spec(empty, 0.8, 0.1, 0.1), v); }).find("has no words") != std::string::npos);
  std::string badChar = writeFile("bad.txt", "ab\nba\nab ba\n");
  CHECK(errorOf([&] { loadDataset(spec(badChar, 0.8, 0.1, 0.1), v); }).find("bad.txt:3:3") != std::string::npos);

  // Three words at 0.8/0.1/0.1: int(2.4) = 2 train words, int(2.7) = 2, so dev gets none.
  std::string small = errorOf([&] { loadDataset(spec(good, 0.8, 0.1, 0.1), v); });
  CHECK(small.find("good.txt: the dataset has 3 words") != std::string::npos);
  CHECK(small.find("the dev split gets no words") != std::string::npos);
  std::string one = writeFile("one.txt", "ab\n");
  CHECK(errorOf([&] { loadDataset(spec(one, 0.5, 0.5, 0), v); }).find("the train split gets no words") !=
        std::string::npos);
  CHECK(errorOf([&] { loadDataset(spec(good, 1, 0, 0), v); }).empty());  // no dev or test asked for: fine

  // The model's vocabulary came from another file (or this one changed since).
  std::string more = writeFile("more.txt", "abc\nbca\ncab\n");
  std::string mismatch = errorOf([&] { loadDataset(spec(more, 1, 0, 0), v); });
  CHECK(mismatch.find("\".abc\" (4 characters) is not the model's \".ab\" (3)") != std::string::npos);
  CHECK(errorOf([&] { buildExamples({"abz"}, v, 3); }).find("'z'") != std::string::npos);
}
