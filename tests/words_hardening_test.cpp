// Unclear or missing words (issue 23): seeds over their whole range, messages that say what happened, `netc
// check` refusing what `netc run` refuses, and warnings for settings that are legal but probably not meant.
// The language's own errors (duplicate keywords, loop variables, the range of a whole number) are in
// tests/errors/.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "run_netc.h"

using netc::testing::CommandResult;
using netc::testing::runNetc;
using netc::testing::ScratchDir;
namespace fs = std::filesystem;

using netc::testing::readFile;
using netc::testing::writeFile;

namespace {

const std::string kModel = "models/mlp_kaiming.net";
const std::string kData = " --data tests/data/pseudo_words.txt";
const std::string kMaxSeed = "18446744073709551615";  // 2^64 - 1

// `from` with every `old` replaced by `now` (each must occur).
std::string replaced(std::string text, const std::string& old, const std::string& now) {
  REQUIRE_MESSAGE(text.find(old) != std::string::npos, old);
  for (size_t at = text.find(old); at != std::string::npos; at = text.find(old, at + now.size()))
    text.replace(at, old.size(), now);
  return text;
}

// The weights `netc init` writes for these arguments.
std::string initWeights(const std::string& args, const fs::path& out) {
  CommandResult r = runNetc("init " + args + " --out '" + out.string() + "'");
  CAPTURE(args);
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  return readFile(out);
}

}  // namespace

TEST_CASE("words: seeds up to 2^64-1 in a model and in --set, exactly, as with --seed") {
  ScratchDir dir("netc_words_seed_");
  const fs::path model = dir.path() / "max_seed.net";
  writeFile(model, replaced(readFile(NETC_SOURCE_DIR "/" + kModel), "seed = 2147483647", "seed = " + kMaxSeed));
  const std::string byFlag = initWeights(kModel + kData + " --seed " + kMaxSeed, dir.path() / "flag.st");
  CHECK(initWeights("'" + model.string() + "'" + kData, dir.path() / "model.st") == byFlag);
  CHECK(initWeights(kModel + kData + " --set train.seed=" + kMaxSeed, dir.path() / "set.st") == byFlag);
  CHECK(initWeights(kModel + kData + " --set 'train.seed=2**64 - 1'", dir.path() / "expr.st") == byFlag);
  // 2^53 + 1 is not a double: read through one it would be 2^53, another seed.
  const std::string above53 = initWeights(kModel + kData + " --set train.seed=9007199254740993", dir.path() / "a.st");
  CHECK(above53 == initWeights(kModel + kData + " --seed 9007199254740993", dir.path() / "b.st"));
  CHECK(above53 != initWeights(kModel + kData + " --seed 9007199254740992", dir.path() / "c.st"));
  // The split seed too: the file's, exactly (config.json records it).
  const fs::path run = dir.path() / "run";
  CommandResult r = runNetc("run " + kModel + kData + " --steps 1 --quiet --no-stats --set data.seed=" + kMaxSeed + " --out '" +
              run.string() + "'");
  CAPTURE(r.out);
  REQUIRE(r.status == 0);
  CHECK(readFile(run / "config.json").find("\"seed\": " + kMaxSeed) != std::string::npos);
  // One past the range is an error at the --set text, saying the range.
  CommandResult over = runNetc("check " + kModel + kData + " --set train.seed=18446744073709551616");
  CHECK(over.status == 1);
  CHECK(over.has("--set train.seed=18446744073709551616: error: the seed must be a whole number in "
                 "0..18446744073709551615, found 18446744073709551616"));
}

TEST_CASE("words: a whole-number setting given 1e300 says the range and what it got") {
  CommandResult r = runNetc("check " + kModel + kData + " --set train.steps=1e300");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("--set train.steps=1e300: error: steps must be a whole number in 1..1000000000, found 1e+300"));
  // A fraction within the range is still "not a whole number".
  CHECK(runNetc("check " + kModel + kData + " --set train.steps=2.5").has("steps must be a whole number, found 2.5"));
}

TEST_CASE("words: a NaN loss at step 0 blames the starting weights, not the learning rate") {
  ScratchDir dir("netc_words_nan0_");
  const fs::path model = dir.path() / "overflow.net";
  // Logits past float's range (W2 near 1e37): the very first loss is NaN, before any update.
  writeFile(model, replaced(readFile(NETC_SOURCE_DIR "/" + kModel), "param W2 : [H, V]    = randn * 0.01",
                            "param W2 : [H, V]    = randn * 1e37"));
  CommandResult r = runNetc("run '" + model.string() + "'" + kData + " --steps 5 --quiet --no-stats --out '" +
                            (dir.path() / "run").string() + "'");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("training diverged at step 0: the minibatch loss is"));
  CHECK(r.has("before any update, from the starting weights (the initialisation): the model or its "
              "initialisation gives a non-finite loss, not the learning rate"));
  CHECK(!r.has("Learning rate"));
  CHECK(!r.has("Try a smaller --lr"));
}

TEST_CASE("words: a state update that makes NaN names the state, not the learning rate") {
  ScratchDir dir("netc_words_state_");
  const fs::path model = dir.path() / "state_nan.net";
  // A running statistic whose update takes the log of a negative number: the loss and the parameters stay
  // finite, the state does not.
  std::string text = replaced(readFile(NETC_SOURCE_DIR "/" + kModel), "minimize loss",
                              "minimize loss\nstate s : [H] = zeros\nupdate s = log(s - 1) + mean(h, axis=0)");
  writeFile(model, text);
  CommandResult r = runNetc("run '" + model.string() + "'" + kData + " --steps 20 --quiet --no-stats --out '" +
                            (dir.path() / "run").string() + "'");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("the state 's' (line 29) is non-finite after its update on line 30, while every parameter is finite: "
              "the update's expression made it, not the learning rate"));
  CHECK(!r.has("Learning rate"));
}

TEST_CASE("words: netc check refuses what netc run refuses") {
  ScratchDir dir("netc_words_check_");
  // The same message from both commands, for each case.
  auto both = [&](const std::string& model, const std::string& args, const std::string& message) {
    CommandResult check = runNetc("check " + model + args);
    CommandResult run = runNetc("run " + model + args + " --steps 2 --quiet --no-stats --out '" +
                                (dir.path() / "run").string() + "'");
    CAPTURE(check.out);
    CAPTURE(run.out);
    CHECK(check.status == 1);
    CHECK(run.status == 1);
    CHECK(check.has(message));
    CHECK(run.has(message));
    CHECK(!fs::exists(dir.path() / "run"));
  };
  // A sliced target: training writes the targets into an input, not into a slice of one.
  const fs::path sliced = dir.path() / "sliced.net";
  std::string text = replaced(readFile(NETC_SOURCE_DIR "/" + kModel), "input y : int[B]", "input y : int[B, 2]");
  writeFile(sliced, replaced(text, "cross_entropy(logits, y)", "cross_entropy(logits, y[:, 0])"));
  both("'" + sliced.string() + "'", kData, "the target of cross_entropy is the result of 'y[:, 0]'");
  // Batch 1 with the unbiased variance (the lecture's BatchNorm uses torch.std).
  both("models/mlp_batchnorm.net", kData + " --set train.batch=1", "the unbiased variance of one example is undefined");
  // A one-word dataset: the dev and test splits get no words.
  const fs::path one = dir.path() / "one.txt";
  writeFile(one, "emma\n");
  both(kModel, " --data '" + one.string() + "'", "the dataset has 1 word, too few for the split");
}

TEST_CASE("words: warnings for a long word's T, too many threads, a long warmup, min_lr above the rate") {
  ScratchDir dir("netc_words_warn_");
  // A normal model and run: no warning.
  CommandResult plain = runNetc("check " + kModel + kData);
  CHECK(plain.status == 0);
  CHECK(!plain.has("warning"));
  CommandResult quiet = runNetc("run " + kModel + kData + " --steps 2 --threads 1 --quiet --no-stats --out '" +
                                (dir.path() / "plain").string() + "'");
  CHECK(quiet.status == 0);
  CHECK(!quiet.has("warning"));

  // One 40-character line among short words: the sequence form's T is 41 where 99% need 7 at most.
  std::string words;
  for (int i = 0; i < 200; ++i) words += std::string(1, static_cast<char>('a' + i % 26)) + "bcde\n";
  words += std::string(40, 'x') + "\n";
  writeFile(dir.path() / "long.txt", words);
  CommandResult longWord = runNetc("check models/rnn.net --data '" + (dir.path() / "long.txt").string() + "'");
  CAPTURE(longWord.out);
  CHECK(longWord.status == 0);
  CHECK(longWord.has("netc: warning: the longest word (40 characters, line 201 of "));
  CHECK(longWord.has("makes the sequence form's T = 41, 7x the T = 6 that 99% of the words need"));
  CommandResult shortWords = runNetc("check models/rnn.net" + kData);
  CHECK(shortWords.status == 0);
  CHECK(!shortWords.has("warning"));

  // More threads than cores (64 is the most --threads allows).
  if (std::thread::hardware_concurrency() > 0 && std::thread::hardware_concurrency() < 64) {
    CommandResult threads = runNetc("run " + kModel + kData + " --steps 2 --threads 64 --quiet --no-stats --out '" +
                                    (dir.path() / "threads").string() + "'");
    CAPTURE(threads.out);
    CHECK(threads.status == 0);
    const std::string cores = std::to_string(std::thread::hardware_concurrency());
    CHECK(threads.has("netc: warning: --threads 64 is more than the " + cores + " cores of this machine"));
  }

  CommandResult warmup = runNetc("check " + kModel + kData + " --set train.steps=1000 --set train.warmup=4000");
  CAPTURE(warmup.out);
  CHECK(warmup.status == 0);
  CHECK(warmup.has("netc: warning: warmup = 4000 is longer than the run's 1000 steps: the learning rate is still "
                   "rising when training stops (it reaches 0.25 of the rate)"));
  CommandResult minLr = runNetc("check " + kModel + kData + " --set train.decay=cosine --set train.min_lr=0.5");
  CAPTURE(minLr.out);
  CHECK(minLr.status == 0);
  CHECK(minLr.has("netc: warning: min_lr = 0.5 is above the learning rate 0.1: the cosine decay raises the rate"));
  // Each warning once, and only where it applies.
  CHECK(!minLr.has("warmup"));
  CHECK(!warmup.has("min_lr"));
}

TEST_CASE("words: a healthy loss that turns NaN in one update names the gradient as a cause, not the rate alone") {
  ScratchDir dir("netc_words_nangrad_");
  const fs::path model = dir.path() / "nan_gradient.net";
  // log(0 * b1) is -inf in the forward pass (tanh makes it -1, the loss stays finite) and its gradient is
  // 0/0 = NaN: the first update makes every weight NaN at any learning rate, here 1e-12.
  const std::string line = "hpre = reshape(emb, [B, T*E]) @ W1 + b1";
  writeFile(model, replaced(readFile(NETC_SOURCE_DIR "/" + kModel), line, line + " + log(0 * b1)"));
  CommandResult r = runNetc("run '" + model.string() + "'" + kData + " --steps 5 --lr 1e-12 --quiet --no-stats --out '" +
                            (dir.path() / "run").string() + "'");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("training diverged at step 1: the minibatch loss is NaN"));
  CHECK(r.has("either the backward pass made a non-finite gradient"));
  CHECK(!r.has("too high? Try a smaller --lr"));
  // lr-find on a model whose loss is NaN before any update blames no rate, and says so.
  const fs::path nan0 = dir.path() / "nan_at_start.net";
  writeFile(nan0, replaced(readFile(NETC_SOURCE_DIR "/" + kModel), "logits = h @ W2 + b2", "logits = h @ W2 + b2 + sqrt(0 - 1 - 0*b2)"));
  CommandResult lf = runNetc("lr-find '" + nan0.string() + "'" + kData + " --out '" + (dir.path() / "lf").string() + "'");
  CAPTURE(lf.out);
  CHECK(lf.status == 1);
  CHECK(lf.has("the loss at step 0, before any update, is not finite"));
  CHECK(!lf.has("after a step at lr"));
  CHECK(!lf.has("try a lower --from"));
  // Too few steps for a moving mean asks for more steps, not a lower rate.
  CommandResult few = runNetc("lr-find " + kModel + kData + " --steps 2 --out '" + (dir.path() / "lf2").string() + "'");
  CHECK(few.status == 1);
  CHECK(few.has("give more --steps"));
}

TEST_CASE("words: a value in a message is escaped once, and a path netc prints on success is escaped too") {
  ScratchDir dir("netc_words_escape_");
  // The sweep's refusal shows the newline as \n (it showed \\n: escaped by the message and again by the error).
  CommandResult nl = runNetc("sweep " + kModel + kData + " --set gain=1 --steps 3 --emit commands --out '" +
                             (dir.path() / "a\nb").string() + "'");
  CAPTURE(nl.out);
  CHECK(nl.status == 2);
  CHECK(nl.has("a\\nb' contains a newline"));
  CHECK(!nl.has("a\\\\nb"));
  // A run folder whose name holds a terminal escape sequence: "saved in" shows it escaped.
  const std::string out = (dir.path() / "r\x1b]0;T\x07").string();
  CommandResult run = runNetc("run " + kModel + kData + " --steps 3 --no-stats --quiet --out '" + out + "'");
  CAPTURE(run.out);
  CHECK(run.status == 0);
  CHECK(run.has("r\\x1b]0;T\\x07/"));
  CHECK(run.out.find('\x1b') == std::string::npos);
}

TEST_CASE("words: an integer option given 2.5 or 1e300 says it must be a whole number, on every command") {
  for (const std::string& line : {"run " + kModel + kData + " --steps 2.5", "run " + kModel + kData + " --steps 1e300",
                                  "run " + kModel + kData + " --threads 2.5", "bench " + kModel + kData + " --batch 1e3",
                                  "sweep " + kModel + kData + " --set gain=1 --jobs 1.5"}) {
    CommandResult r = runNetc(line + " --quiet");
    CAPTURE(line);
    CAPTURE(r.out);
    CHECK(r.status == 2);
    CHECK(r.has("must be a whole number written in digits, found '"));
    CHECK(!r.has("Could not convert"));
    CHECK(!r.has("not in range"));
  }
}
