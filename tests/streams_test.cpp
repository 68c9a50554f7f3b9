// The lecture's random streams, bit for bit: CPython's random.shuffle and PyTorch's CPU generator (randn,
// randint, and the initialisers' float32 scaling) against the values tools/torch_streams.py wrote.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "lower/model.h"
#include "runtime/data/dataset.h"
#include "runtime/training/init.h"
#include "runtime/random/python_random.h"
#include "runtime/random/torch_generator.h"
#include "test_util.h"

using namespace netc;

namespace {

const std::string kFixtures = NETC_SOURCE_DIR "/tests/fixtures/streams/";

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "missing fixture " << path << ": run /usr/bin/python3 tools/torch_streams.py");
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] != '#') out.push_back(l);
  return out;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream s(line);
  std::vector<std::string> w;
  for (std::string t; s >> t;) w.push_back(t);
  return w;
}

// tools/torch_streams.py's fnv1a: over the float32 values' little-endian bytes.
uint64_t fnv1a(const std::vector<float>& v) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (float f : v) {
    const uint32_t b = std::bit_cast<uint32_t>(f);
    for (int i = 0; i < 4; ++i) h = (h ^ ((b >> (8 * i)) & 0xff)) * 0x100000001b3ull;
  }
  return h;
}

int sameBits(const std::vector<float>& got, const std::vector<std::string>& want);

// Replays every sequence of a torch fixture through TorchGenerator; returns the number of draws checked.
int checkTorchFile(const std::string& file, TorchGenerator::Kernel kernel) {
  std::vector<std::string> ls = lines(kFixtures + file);
  std::optional<TorchGenerator> g;
  int draws = 0;
  for (size_t i = 0; i < ls.size(); ++i) {
    std::vector<std::string> w = words(ls[i]);
    if (w[0] == "seed") {
      g.emplace(std::stoull(w[1]), kernel);
      continue;
    }
    REQUIRE(g);
    REQUIRE(i + 1 < ls.size());
    std::vector<std::string> want = words(ls[++i]);
    ++draws;
    CAPTURE(file);
    CAPTURE(ls[i - 1]);
    if (w[0] == "randint") {
      const uint64_t n = std::stoull(w[1]);
      REQUIRE(want.size() == std::stoull(w[2]));
      for (const std::string& v : want) CHECK(g->randint(n) == std::stoll(v));
      continue;
    }
    std::vector<float> got;
    if (w[0] == "uniform" || w[0] == "normal") {  // tensor.uniform_(a, b) / tensor.normal_(mean, std)
      REQUIRE(w.size() == 4);
      const int64_t n = std::stoll(w[1]);
      const double a = std::stod(w[2]), b = std::stod(w[3]);
      got = w[0] == "uniform" ? g->uniform(n, a, b) : g->normal(n, a, b);
    } else {
      REQUIRE(w[0] == "randn");
      std::vector<InitStep> steps;
      for (size_t k = 2; k + 1 < w.size(); k += 2) steps.push_back({w[k] == "div", std::stod(w[k + 1])});
      got = g->randn(std::stoll(w[1]));
      applySteps(got, steps);
    }
    CHECK(sameBits(got, want) == 0);
  }
  return draws;
}

// How many of `got` differ from the fixture's values (hex bit patterns, then `| FNV` of all of them when the
// line shows only the first ones).
int sameBits(const std::vector<float>& got, const std::vector<std::string>& want) {
  auto bar = std::find(want.begin(), want.end(), std::string("|"));
  const size_t shown = static_cast<size_t>(bar - want.begin());
  REQUIRE(shown <= got.size());
  int wrong = 0;
  for (size_t k = 0; k < shown; ++k)
    if (std::bit_cast<uint32_t>(got[k]) != static_cast<uint32_t>(std::stoul(want[k], nullptr, 16))) ++wrong;
  if (bar != want.end()) wrong += fmt::format("{:016x}", fnv1a(got)) != *(bar + 1);
  else wrong += shown != got.size();
  return wrong;
}

}  // namespace

TEST_CASE("streams: torch generator matches torch.randn and torch.randint bit for bit (AVX2 kernel)") {
  CHECK(checkTorchFile("torch_avx2.txt", TorchGenerator::Kernel::Avx2) > 30);
}

TEST_CASE("streams: torch generator matches PyTorch's scalar normal kernel (ATEN_CPU_CAPABILITY=default)") {
  CHECK(checkTorchFile("torch_default.txt", TorchGenerator::Kernel::Scalar) > 30);
}

TEST_CASE("streams: the lecture's first draws from manual_seed(2147483647)") {
  TorchGenerator g(2147483647);
  std::vector<float> C = g.randn(27 * 10);
  CHECK(C[0] == doctest::Approx(1.5673620).epsilon(1e-7));
  CHECK(C[1] == doctest::Approx(-0.2372923).epsilon(1e-6));
  CHECK(C[2] == doctest::Approx(-0.0273846).epsilon(1e-5));
  CHECK(C[3] == doctest::Approx(-1.1007794).epsilon(1e-6));
  std::vector<float> five = g.randn(5);
  CHECK(five[0] == doctest::Approx(-0.7511192).epsilon(1e-6));
  CHECK(five[1] == doctest::Approx(-1.1258273).epsilon(1e-6));
  CHECK(g.randint(182625) == 170836);
  CHECK(g.randint(182625) == 82013);
  CHECK(g.randint(182625) == 176204);
}

TEST_CASE("streams: CPython's random.seed and random.shuffle") {
  for (const std::string& l : lines(kFixtures + "python.txt")) {
    std::vector<std::string> w = words(l);
    REQUIRE(w[0] == "shuffle");
    const uint64_t seed = std::stoull(w[1]);  // netc's seeds: 0..2^64-1
    const int64_t n = std::stoll(w[2]);
    std::vector<std::string> x;
    for (int64_t i = 0; i < n; ++i) x.push_back(std::to_string(i));
    PythonRandom(seed).shuffle(x);
    CAPTURE(l);
    auto bar = std::find(w.begin(), w.end(), std::string("|"));
    for (auto it = w.begin() + 3; it != bar; ++it) CHECK(x[it - (w.begin() + 3)] == *it);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += (i + 1) * std::stoll(x[i]);
    CHECK(std::to_string(sum) == *(bar + 1));
  }
  // getrandbits(k) is the top k bits of a draw; randbelow(1) draws one bit and returns 0.
  PythonRandom a(42), b(42);
  const uint32_t top = a.getrandbits(32) >> 27;
  CHECK(top == b.getrandbits(5));
  CHECK(a.randbelow(1) == 0);
}

TEST_CASE("streams: generator = torch initialises the lecture's Kaiming MLP as the notebook does") {
  // tools/torch_streams.py's third sequence: C, W1 * (5/3) / 30**0.5, b1 * 0.01, W2 * 0.01, b2 * 0, then a
  // minibatch. The pseudo words have the lecture's 27 symbols, so the shapes are the lecture's.
  Model m = testing::shippedModel("mlp_kaiming.net");
  REQUIRE(m.train.generator == Generator::Torch);
  std::optional<TorchGenerator> after;
  WeightMap w = initParams(m.graph, m.train.seed, m.train.generator, &after);
  std::vector<std::string> ls = lines(kFixtures + "torch_avx2.txt");
  size_t at = 0;
  for (int seen = 0; seen < 3; ++at)
    if (ls[at].rfind("seed", 0) == 0) ++seen;
  for (const char* name : {"C", "W1", "b1", "W2", "b2"}) {
    CAPTURE(name);
    REQUIRE(w.count(name));
    std::vector<float> got(w[name].data.begin(), w[name].data.end());
    REQUIRE(ls[at].rfind("randn " + std::to_string(got.size()), 0) == 0);
    std::vector<std::string> want = words(ls[at + 1]);
    auto bar = std::find(want.begin(), want.end(), std::string("|"));
    if (bar != want.end()) CHECK(fmt::format("{:016x}", fnv1a(got)) == *(bar + 1));
    else
      for (size_t k = 0; k < got.size(); ++k)
        CHECK(std::bit_cast<uint32_t>(got[k]) == static_cast<uint32_t>(std::stoul(want[k], nullptr, 16)));
    at += 2;
  }
  // The minibatches continue from where the initialisation left the generator.
  REQUIRE(ls[at] == "randint 182625 32");
  std::vector<std::string> rows = words(ls[at + 1]);
  for (const std::string& r : rows) CHECK(after->randint(182625) == std::stoll(r));
}

TEST_CASE("streams: shuffle = python splits the words as random.seed(42); random.shuffle(words)") {
  std::vector<std::string> w;
  for (int i = 0; i < 10; ++i) w.push_back(std::to_string(i));
  const double f[3] = {0.8, 0.1, 0.1};
  auto parts = splitWords(w, f, 42, "ten words", Shuffle::Python);  // python.txt: 7 3 2 8 5 6 9 4 0 1
  CHECK(parts[0] == std::vector<std::string>{"7", "3", "2", "8", "5", "6", "9", "4"});
  CHECK(parts[1] == std::vector<std::string>{"0"});
  CHECK(parts[2] == std::vector<std::string>{"1"});
}

TEST_CASE("streams: initialisers as expressions, and the second stream, draw what PyTorch draws") {
  // tools/torch_streams.py's torch_inits.net: expressions of randn, normal, uniform, zeros and ones with
  // + - * / under generator = torch, nn.Linear and nn.Embedding drawn from torch.manual_seed(42)'s generator
  // (marked `global`) between draws from the named one, and a state of each stream.
  Model m = loadModel(kFixtures + "torch_inits.net");
  REQUIRE(m.train.generator == Generator::Torch);
  REQUIRE(m.train.globalSeed == std::optional<uint64_t>(42));
  WeightMap w = initParams(m.graph, m.train.seed, m.train.generator, nullptr, m.train.globalSeed);
  std::vector<std::string> ls = lines(kFixtures + "torch_inits.txt");
  REQUIRE(ls.size() % 2 == 0);
  size_t checked = 0;
  for (size_t i = 0; i + 1 < ls.size(); i += 2) {
    std::vector<std::string> head = words(ls[i]);
    CAPTURE(ls[i]);
    REQUIRE(w.count(head[0]));
    std::vector<float> got(w[head[0]].data.begin(), w[head[0]].data.end());
    REQUIRE(got.size() == std::stoull(head[1]));
    CHECK(sameBits(got, words(ls[i + 1])) == 0);
    ++checked;
  }
  CHECK(checked == w.size());
  CHECK(checked == 18);
}

TEST_CASE("streams: nn.Linear's default initialisation is uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), bit for bit") {
  // torch.manual_seed(42); nn.Linear(30, 27): the weight [27, 30] then the bias, from the fixture above.
  TorchGenerator g(42);
  g.randn(64);  // bngain and bnbias come first there
  g.randn(64);
  std::vector<float> weight = g.uniform(27 * 30, -1 / std::sqrt(30.0), 1 / std::sqrt(30.0));
  std::vector<float> bias = g.uniform(27, -1 / std::sqrt(30.0), 1 / std::sqrt(30.0));
  std::vector<std::string> ls = lines(kFixtures + "torch_inits.txt");
  auto at = std::find(ls.begin(), ls.end(), std::string("L1 810"));
  REQUIRE(at != ls.end());
  CHECK(sameBits(weight, words(*(at + 1))) == 0);
  REQUIRE(*(at + 2) == "l1 27");
  CHECK(sameBits(bias, words(*(at + 3))) == 0);
  // Every value lies inside the bound, as float32 rounds it.
  for (float v : weight) CHECK(std::fabs(v) <= static_cast<float>(1 / std::sqrt(30.0)));
}
