// Sizes from user numbers: checked arithmetic, the per-value element limit and the batch it implies, the
// memory check before allocation, input paths that are not files, and data read only once.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "codegen/plan.h"
#include "runtime/data/dataset.h"
#include "support/files.h"
#include "support/sizes.h"
#include "test_util.h"

using namespace netc;
using netc::testing::errorOf;
using netc::testing::shippedModel;
namespace fs = std::filesystem;

TEST_CASE("sizes: checked products and sums fail instead of wrapping") {
  CHECK(checkedMul(3, 4, "x") == 12);
  CHECK(checkedAdd(3, 4, "x") == 7);
  CHECK(errorOf([] { checkedMul(int64_t{1} << 40, int64_t{1} << 40, "the arena"); }).find("the arena is too large") !=
        std::string::npos);
  CHECK(errorOf([] { checkedAdd(INT64_MAX, 1, "the arena"); }).find("too large") != std::string::npos);
  CHECK(errorOf([] { numel({int64_t{1} << 32, int64_t{1} << 32, 4}); }).find("too large") != std::string::npos);
  CHECK(numel({2518008004954662, 1}) == 2518008004954662);
}

TEST_CASE("sizes: a buffer beyond the machine's memory is an error before it is allocated") {
  const int64_t have = machineMemoryBytes();
  CHECK(have > 0);
  std::string e = errorOf([&] { checkFitsInMemory(have + 1, "the compiled step's arena", ": use a smaller batch"); });
  CHECK(e.find("the compiled step's arena needs") != std::string::npos);
  CHECK(e.find("more than this machine has") != std::string::npos);
  CHECK(e.find("use a smaller batch") != std::string::npos);
  CHECK(errorOf([] { checkFitsInMemory(1 << 20, "a small buffer"); }).empty());
}

TEST_CASE("batch: the largest batch is the one that keeps the widest value within kMaxElements") {
  Model m = shippedModel("mlp_kaiming.net");
  CHECK(maxBatch(m.graph) == kMaxElements / 200);  // h and hpre are [B, 200]
  CHECK(batchProblem(m.graph, maxBatch(m.graph)).empty());
  std::string e = batchProblem(m.graph, maxBatch(m.graph) + 1);
  CHECK(e.find("batch size 10737419 is too large") != std::string::npos);
  CHECK(e.find("x 200 elements") != std::string::npos);
  CHECK(batchProblem(m.graph, 0).find("at least 1") != std::string::npos);
  // The batch: it used to overflow the storage plan's size sum into a 64-byte arena.
  TrainingGraph t = buildTrainingGraph(m.graph);
  CHECK(errorOf([&] { bindBatch(t.graph, 2518008004954662); }).find("is too large") != std::string::npos);
}

TEST_CASE("batch: the plan at the largest batch keeps every buffer inside the arena") {
  Model m = shippedModel("mlp_kaiming.net");
  TrainingGraph t = buildTrainingGraph(m.graph);
  const int64_t batch = maxBatch(t.graph);
  Graph bound = bindBatch(t.graph, batch);
  codegen::Plan p = codegen::makePlan(bound);  // plans only: nothing is allocated
  int64_t sum = 0;
  for (int v = 0; v < bound.size(); ++v) {
    if (p.offset[v] < 0) continue;
    CHECK(p.bytes[v] == 4 * numel(bound[v].shape));
    CHECK(p.offset[v] + p.bytes[v] <= p.scratchOffset);
    sum += p.bytes[v];
  }
  CHECK(p.arenaBytes >= sum);
  CHECK(p.arenaBytes > int64_t{4} * batch * 200);  // at least one [B, 200] value: no wrap-around
  CHECK(p.scratchOffset + p.scratchBytes <= p.arenaBytes);
}

TEST_CASE("dataset: the examples' size is checked before they are reserved") {
  Vocabulary v({"ab", "ba"});
  CHECK(errorOf([&] { buildExamples({"ab"}, v, int64_t{1} << 62); }).find("too large") != std::string::npos);
  std::string e = errorOf([&] { buildExamples({"ab"}, v, machineMemoryBytes()); });
  CHECK(e.find("needs") != std::string::npos);
  CHECK(e.find("more than this machine has") != std::string::npos);
}

TEST_CASE("dataset: the words lowering read are the words the examples come from (read once)") {
  Model m = shippedModel("mlp_kaiming.net");
  REQUIRE(m.data.file != nullptr);
  DataSpec spec = m.data;
  spec.path = "/nonexistent/words.txt";  // never opened again
  Dataset d = loadDataset(spec, m.vocab);
  CHECK(d.wordCount == static_cast<int64_t>(m.data.file->words.size()));
  CHECK(d[Split::Train].size() > 0);
}

TEST_CASE("files: directories, symlink loops and too-long names are named; FIFOs are readable") {
  const fs::path dir = fs::temp_directory_path() / ("netc_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path loop = dir / "loop", fifo = dir / "fifo", file = dir / "f.txt";
  fs::create_symlink(loop, loop);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::ofstream(file) << "ab\n";
  CHECK(inputFileProblem(dir.string()) == "it is a directory, not a file");
  CHECK(inputFileProblem(loop.string()).find("symbolic links") != std::string::npos);
  CHECK(inputFileProblem((dir / std::string(300, 'a')).string()).find("too long") != std::string::npos);
  CHECK(inputFileProblem((dir / "missing").string()) == "no such file");
  CHECK(inputFileProblem((file / "below").string()).find("not a directory") != std::string::npos);
  CHECK(inputFileProblem(fifo.string()).empty());
  CHECK(inputFileProblem(file.string()).empty());
  CHECK(errorOf([&] { requireInputFile(dir.string(), "weights file"); }).find("cannot read weights file") !=
        std::string::npos);
  // The same words through lowering: each is an error naming the path and what is wrong with it.
  for (const fs::path& p : {dir, loop}) {
    LowerOptions o;
    o.dataOverride = p.string();
    std::string e = errorOf([&] { loadModel(NETC_SOURCE_DIR "/models/mlp_kaiming.net", o); });
    CHECK(e.find("cannot read dataset file '" + p.string() + "' (from --data)") != std::string::npos);
  }
  fs::remove_all(dir);
}
