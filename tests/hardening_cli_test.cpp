// Hostile inputs on the command line: absurd sizes, paths that are not files, data that can be read only
// once, a full output device. Each must end in one `netc: error:` line (or file:line:col) and the exit status
// README.md documents (1 input, file or machine; 2 usage), never an abort, a hang or a run folder.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "run_netc.h"

using netc::testing::CommandResult;
using netc::testing::runNetc;
using netc::testing::ScratchDir;
namespace fs = std::filesystem;

namespace {

const std::string kModel = "models/mlp_kaiming.net";
const std::string kData = " --data tests/data/pseudo_words.txt";

// A shell command line run from the repository root with `netc` standing for the built binary; stdout and
// stderr are as the line redirects them (the caller adds 2>&1 where it wants both).
CommandResult runShell(const std::string& line) {
  std::string cmd = std::string("cd '" NETC_SOURCE_DIR "' && NETC='" NETC_BINARY "' && ") + line;
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The message of an error that netc handled: one `netc: error:` (or file:line:col: error:) line, nothing
// from the C++ runtime.
void checkHandled(const CommandResult& r, int status) {
  CAPTURE(r.out);
  CHECK(r.status == status);
  CHECK(r.has("error: "));
  CHECK(!r.has("terminate called"));
  CHECK(!r.has("what():"));
}

}  // namespace

TEST_CASE("cli: a batch size beyond what a value can hold is a located error, before any run folder") {
  ScratchDir dir("netc_harden_batch_");
  const fs::path out = dir.path() / "run";
  CommandResult check = runNetc("check tests/errors/huge_batch.net");
  checkHandled(check, 1);
  CHECK(check.has("tests/errors/huge_batch.net:32:11: error: batch size 2518008004954662 is too large"));
  // The reproduction: the model's batch through `netc run`.
  CommandResult run = runNetc("run tests/errors/huge_batch.net --steps 1 --out " + out.string());
  checkHandled(run, 1);
  CHECK(run.has("huge_batch.net:32:11"));
  CHECK(!fs::exists(out));
}

TEST_CASE("cli: --batch too large is a usage error on run, bench, gradcheck and ir") {
  ScratchDir dir("netc_harden_flag_batch_");
  const fs::path out = dir.path() / "run";
  const std::string huge = " --batch 2518008004954662";
  CommandResult run = runNetc("run " + kModel + kData + huge + " --steps 1 --out " + out.string());
  checkHandled(run, 2);
  CHECK(run.has("--batch: batch size 2518008004954662 is too large"));
  CHECK(run.has("the largest batch size this model allows is"));
  CHECK(!fs::exists(out));
  checkHandled(runNetc("bench " + kModel + kData + huge), 2);
  CommandResult gc = runNetc("gradcheck " + kModel + kData + huge);
  checkHandled(gc, 2);
  CHECK(gc.has("--batch: batch size"));
  checkHandled(runNetc("ir " + kModel + kData + " --stage fused" + huge), 2);
  // Just past the limit, where the sizes still fit in 64 bits but not in one value.
  CommandResult edge = runNetc("run " + kModel + kData + " --batch 10737419 --steps 1 --out " + out.string());
  checkHandled(edge, 2);
  CHECK(edge.has("([B,200]) would hold 10737419 x 200 elements"));
  CHECK(!fs::exists(out));
}

TEST_CASE("cli: absurd step counts are usage errors, before any run folder") {
  ScratchDir dir("netc_harden_steps_");
  const fs::path out = dir.path() / "run";
  for (const char* steps : {"-5", "2000000000", "99999999999999999999"}) {
    CAPTURE(steps);
    CommandResult r = runNetc("run " + kModel + kData + " --steps " + steps + " --out " + out.string());
    checkHandled(r, 2);
    CHECK(r.has("--steps"));
    CHECK(!fs::exists(out));
  }
  CHECK(runNetc("run " + kModel + kData + " --steps 2000000000 --out " + out.string()).has("at most 1000000000"));
  // The model's own steps: a located error.
  CommandResult model = runNetc("run tests/errors/huge_steps.net --out " + out.string());
  checkHandled(model, 1);
  CHECK(model.has("huge_steps.net:31:11: error: steps must be a whole number in 1..1000000000"));
  CommandResult context = runNetc("run tests/errors/huge_context.net --out " + out.string());
  checkHandled(context, 1);
  CHECK(context.has("huge_context.net:5:13: error: the context length must be a whole number in 1..1024"));
  CHECK(!fs::exists(out));
}

TEST_CASE("cli: every command-line value error exits 2") {
  for (const std::string& args :
       {"run " + kModel + kData + " --steps -5", "run " + kModel + kData + " --batch 0",
        "run " + kModel + kData + " --lr -1", "gradcheck " + kModel + kData + " --eps 0",
        "gradcheck " + kModel + kData + " --batch 0", "sample " + kModel + kData + " --weights x --count -1"}) {
    CAPTURE(args);
    CommandResult r = runNetc(args);
    checkHandled(r, 2);
    CHECK(r.has("netc: error: --"));
  }
}

TEST_CASE("cli: a directory, a symlink loop or a too-long name as an input file is a clear error (exit 1)") {
  ScratchDir dir("netc_harden_paths_");
  const fs::path loop = dir.path() / "loop";
  fs::create_symlink(loop, loop);  // points at itself: ELOOP
  const fs::path longName = dir.path() / std::string(300, 'w');
  const fs::path folder = dir.path() / "folder";
  fs::create_directories(folder);
  const struct {
    fs::path path;
    const char* says;
  } bad[] = {{folder, "it is a directory"}, {loop, "symbolic links"}, {longName, "too long"}};
  const fs::path out = dir.path() / "run";
  for (const auto& b : bad) {
    const std::string p = " '" + b.path.string() + "'";
    CAPTURE(b.path.string());
    for (const std::string& args :
         {"sample " + kModel + kData + " --weights" + p, "run " + kModel + kData + " --steps 1 --out " +
                                                             out.string() + " --init-from" + p,
          "check " + kModel + " --data" + p, "gradcheck " + kModel + kData + " --weights" + p,
          "grad " + kModel + kData + " --weights" + p + " --inputs" + p + " --out " + (dir.path() / "g").string(),
          "check" + p}) {
      CAPTURE(args);
      CommandResult r = runNetc(args);
      checkHandled(r, 1);
      CHECK(r.has(b.says));
    }
    // The data path inside the model, resolved against the model's folder: a located error.
    const fs::path model = dir.path() / "m.net";
    {
      std::ifstream in(NETC_SOURCE_DIR "/" + kModel);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::string quoted = b.path.string();
      quoted.insert(quoted.begin(), '"');
      quoted.push_back('"');
      text.replace(text.find("\"../data/names.txt\""), 19, quoted);
      std::ofstream(model) << text;
    }
    CommandResult r = runNetc("check '" + model.string() + "'");
    checkHandled(r, 1);
    CHECK(r.has("m.net:3:6: error: cannot read dataset file"));
    CHECK(r.has(b.says));
  }
  CHECK(!fs::exists(out));
}

TEST_CASE("cli: the data file is read exactly once: a FIFO and /dev/stdin from a pipe train") {
  ScratchDir dir("netc_harden_fifo_");
  const fs::path fifo = dir.path() / "words.fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // The writer (a child of the test, as a thread) opens the FIFO without blocking until netc opens it for
  // reading, writes the words once and closes it; a second open by netc would then wait for ever, so the
  // command runs under `timeout`.
  std::atomic<bool> wrote{false};
  std::thread writer([&] {
    std::ifstream in(NETC_SOURCE_DIR "/tests/data/pseudo_words.txt");
    std::string words((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int fd = -1;
    while ((fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK)) < 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, 0);  // blocking writes from here on
    size_t at = 0;
    while (at < words.size()) {
      ssize_t n = ::write(fd, words.data() + at, words.size() - at);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    ::close(fd);
    wrote = at == words.size();
  });
  const fs::path out = dir.path() / "run";
  CommandResult r = runShell("timeout 120 \"$NETC\" run " + kModel + " --data '" + fifo.string() +
                             "' --steps 3 --no-stats --quiet --out '" + out.string() + "' 2>&1");
  writer.join();
  CAPTURE(r.out);
  CHECK(wrote);
  CHECK(r.status == 0);
  CHECK(r.has("after 3 steps"));
  CommandResult piped = runShell("cat tests/data/pseudo_words.txt | timeout 120 \"$NETC\" run " + kModel +
                                 " --data /dev/stdin --steps 3 --no-stats --quiet --out '" +
                                 (dir.path() / "run2").string() + "' 2>&1");
  CAPTURE(piped.out);
  CHECK(piped.status == 0);
  CHECK(piped.has("after 3 steps"));
  CHECK(!piped.has("has no words"));
}

TEST_CASE("cli: a write error on stdout (a full device) is reported and exits non-zero") {
  for (const char* stage : {"graph", "asm"}) {
    CAPTURE(stage);
    CommandResult r = runShell("\"$NETC\" ir " + kModel + kData + " --stage " + stage + " 2>&1 >/dev/full");
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has("netc: error: "));
    CHECK(r.has("No space left on device"));
  }
  CommandResult help = runShell("\"$NETC\" --help 2>&1 >/dev/full");
  CHECK(help.status != 0);
}
