// The object cache trusts nothing it finds (compiler/codegen/object_cache.h, cache_folder.h): every entry is
// sealed with its kind, key, size and hash; files must be regular files of the user's, in a folder only the
// user can write to; anything else is compiled again with a note, never run. Pruning removes only netc's own
// names. The first cases test the pieces in-process, the others run the netc binary on a cache folder that
// is tampered with between runs and compare its losses with a run without the cache.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include <llvm/Support/MemoryBuffer.h>

#include "codegen/cache_folder.h"
#include "codegen/object_cache.h"
#include "run_netc.h"

using netc::testing::CommandResult;
using netc::testing::ScratchDir;
namespace fs = std::filesystem;
using namespace netc::codegen;

using netc::testing::readFile;
using netc::testing::writeFile;
using netc::testing::runShell;

namespace {

const std::string kModel = "models/mlp_kaiming.net";
const std::string kData = " --data tests/data/pseudo_words.txt";
const std::string kKeyA = "0123456789abcdef0123456789abcdef";
const std::string kKeyB = "fedcba9876543210fedcba9876543210";
const std::set<std::string> kExtensions = {"o", "step"};

// A cheap training run of mlp_kaiming with the cache in `cache` ("off" for none), under a time limit so a hang
// fails the test instead of stopping the suite. `env` goes before the command (NETC_CACHE_MAX_MB=...).
CommandResult train(const std::string& cache, const fs::path& out, const std::string& extra = "", const std::string& env = "") {
  return runShell(fmt::format("{} NETC_CACHE_DIR='{}' timeout 120 \"$NETC\" run {}{} --steps 3 --no-stats --quiet --out '{}' {}",
                           env, cache, kModel, kData, out.string(), extra));
}

// The files of `dir` with that extension (".o", ".step").
std::set<std::string> filesWith(const fs::path& dir, const std::string& ext) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.insert(e.path().filename().string());
  return out;
}

// A folder set up for one test: the cache, and the losses of the model trained without the cache (the answer
// every cached run must reproduce exactly).
struct CacheScene {
  ScratchDir dir;
  fs::path cache;
  std::string expected;
  explicit CacheScene(const std::string& name, const std::string& extra = "") : dir("netc_cache_" + name + "_") {
    cache = dir.path() / "cache";
    fs::create_directories(cache);
    fs::permissions(cache, fs::perms::owner_all, fs::perm_options::replace);
    CommandResult off = train("off", dir.path() / "off", extra);
    REQUIRE_MESSAGE(off.status == 0, off.out);
    expected = readFile(dir.path() / "off" / "losses.csv");
    REQUIRE(!expected.empty());
  }
  // A run with the cache that must succeed, without a crash or a hang, and give the uncached losses.
  CommandResult trainRight(const std::string& out, const std::string& extra = "", const std::string& env = "") {
    CommandResult r = train(cache.string(), dir.path() / out, extra, env);
    CAPTURE(r.out);
    CHECK(r.status == 0);
    CHECK(!r.has("terminate called"));
    CHECK(readFile(dir.path() / out / "losses.csv") == expected);
    return r;
  }
};

}  // namespace

TEST_CASE("object cache: keys, netc's own file names and NETC_CACHE_MAX_MB are read strictly") {
  CHECK(isCacheKey(kKeyA));
  CHECK(!isCacheKey("../elsewhere/x"));
  CHECK(!isCacheKey(kKeyA.substr(1)));
  CHECK(!isCacheKey("0123456789ABCDEF0123456789ABCDEF"));  // netc writes lowercase only
  CHECK(!isCacheKey("../e/aaaaaaaaaaaaaaaaaaaaaaaaaaa"));  // 32 characters, not hex

  bool temporary = false;
  CHECK(isCacheFileName(kKeyA + ".o", kExtensions, &temporary));
  CHECK(!temporary);
  CHECK(isCacheFileName(kKeyA + ".step", kExtensions));
  CHECK(isCacheFileName(kKeyA + ".o.tmp0123456789abcdef", kExtensions, &temporary));
  CHECK(temporary);
  CHECK(isCacheFileName(kKeyA + ".step.tmpAb3xYz", kExtensions));  // an earlier version's mkstemp temporary
  for (const std::string& other : {std::string("notes.txt"), std::string("foo.tmp"), std::string("model.o"), kKeyA,
                                   kKeyA + ".txt", kKeyA + ".o.tmp", kKeyA + ".o.tmp12345", kKeyA + ".o.tmp/../x",
                                   kKeyA + ".o.bak", "x" + kKeyA + ".o", kKeyA + "0.o"}) {
    CAPTURE(other);
    CHECK(!isCacheFileName(other, kExtensions));
  }

  CHECK(parseCacheMegabytes("0") == 0u);
  CHECK(parseCacheMegabytes("512") == 512u);
  CHECK(parseCacheMegabytes("17592186044415") == 17592186044415u);  // the most whose bytes a 64-bit count holds
  for (const char* bad : {"", "abc", "-1", "+5", " 5", "5 ", "1e3", "1.5", "0x10", "17592186044416", "99999999999999999999999"}) {
    CAPTURE(bad);
    CHECK(!parseCacheMegabytes(bad));
  }
}

TEST_CASE("object cache: an entry's seal binds its kind, key, size and hash") {
  const std::string payload = std::string("\x7f" "ELF object bytes\0 and more", 27);
  const std::string sealed = sealEntry("o", kKeyA, payload);
  Unsealed ok = unsealEntry("o", kKeyA, sealed);
  CHECK(ok.problem.empty());
  CHECK(ok.payload == payload);
  CHECK(ok.hash == contentHash(payload));

  CHECK(unsealEntry("o", kKeyB, sealed).problem.find("sealed as the entry of key " + kKeyA) != std::string::npos);
  CHECK(!unsealEntry("step", kKeyA, sealed).problem.empty());
  CHECK(!unsealEntry("o", kKeyA, payload).problem.empty());  // an unsealed (older) file
  CHECK(!unsealEntry("o", kKeyA, "").problem.empty());
  for (size_t i = 0; i < sealed.size(); ++i) {  // every single flipped bit of payload or seal is refused
    std::string flipped = sealed;
    flipped[i] ^= 0x10;
    CAPTURE(i);
    CHECK(!unsealEntry("o", kKeyA, flipped).problem.empty());
  }
  CHECK(!unsealEntry("o", kKeyA, sealed.substr(1)).problem.empty());  // a byte short
  CHECK(!unsealEntry("o", kKeyA, "x" + sealed).problem.empty());      // a byte more
}

TEST_CASE("object cache: the folder must be the user's alone, and files are read only when they are regular files of the user's") {
  ScratchDir dir("netc_cache_folder_");
  const fs::path folderPath = dir.path() / "made" / "here";
  std::string why;
  std::unique_ptr<CacheFolder> folder = CacheFolder::open(folderPath.string(), why);
  REQUIRE_MESSAGE(folder, why);
  struct stat st {};
  REQUIRE(::stat(folderPath.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);  // created private, whatever the umask

  for (auto mode : {fs::perms::group_write, fs::perms::others_write}) {
    fs::permissions(folderPath, fs::perms::owner_all | mode, fs::perm_options::replace);
    why.clear();
    CHECK(!CacheFolder::open(folderPath.string(), why));
    CHECK(why.find("other users can write to it") != std::string::npos);
  }
  fs::permissions(folderPath, fs::perms::owner_all | fs::perms::others_write | fs::perms::sticky_bit,
                  fs::perm_options::replace);
  CHECK(!CacheFolder::open(folderPath.string(), why));  // a sticky bit still lets others plant files
  fs::permissions(folderPath, fs::perms::owner_all, fs::perm_options::replace);

  CHECK(folder->writeAtomically(kKeyA, "o", "object"));
  CacheFolder::Read r = folder->read(kKeyA, "o", 100);
  CHECK(r.ok());
  CHECK(r.bytes == "object");
  CHECK(folder->read(kKeyB, "o", 100).missing);
  CHECK(!folder->read(kKeyA, "o", 5).ok());  // beyond the bound
  CHECK(!folder->read("../here/" + kKeyA.substr(8), "o", 100).ok());
  CHECK(!folder->writeAtomically("../x", "o", "object"));

  fs::permissions(folderPath / (kKeyA + ".o"), fs::perms::others_write, fs::perm_options::add);
  CHECK(folder->read(kKeyA, "o", 100).problem.find("other users can write to it") != std::string::npos);
  REQUIRE(::mkfifo((folderPath / (kKeyB + ".o")).c_str(), 0600) == 0);
  CHECK(folder->read(kKeyB, "o", 100).problem == "it is not a regular file");
  fs::remove(folderPath / (kKeyB + ".o"));
  fs::create_symlink("/dev/zero", folderPath / (kKeyB + ".o"));
  CHECK(folder->read(kKeyB, "o", 100).problem.find("symbolic link") != std::string::npos);
  if (::geteuid() == 0) {
    fs::remove(folderPath / (kKeyB + ".o"));
    writeFile(folderPath / (kKeyB + ".o"), "object");
    REQUIRE(::chown((folderPath / (kKeyB + ".o")).c_str(), 65534, 65534) == 0);
    CHECK(folder->read(kKeyB, "o", 100).problem.find("belongs to user 65534") != std::string::npos);
  }
}

TEST_CASE("object cache: a step list naming anything but a cache key is refused, even when sealed") {
  ScratchDir dir("netc_cache_list_");
  std::string why;
  std::unique_ptr<CacheFolder> folder = CacheFolder::open((dir.path() / "cache").string(), why);
  REQUIRE(folder);
  CacheFolder* raw = folder.get();
  ObjectCache cache(std::move(folder), ObjectCache::kDefaultMaxBytes);
  // A valid object outside the folder, sealed under the 32-character name that leads there.
  const std::string outside = "../e/aaaaaaaaaaaaaaaaaaaaaaaaaaa";
  REQUIRE(outside.size() == 32);
  fs::create_directories(dir.path() / "e");
  const std::string object = "not really an object";
  writeFile(dir.path() / "e" / "aaaaaaaaaaaaaaaaaaaaaaaaaaa.o", sealEntry("o", outside, object));
  auto list = [&](const std::string& key) { return fmt::format("{} {} {}\n", key, object.size(), contentHash(object)); };
  REQUIRE(raw->writeAtomically(kKeyA, "step", sealEntry("step", kKeyA, list(outside))));
  CHECK(cache.loadStep(kKeyA).empty());
  // The same list naming an object inside the folder is loaded: the refusal above was the key's.
  REQUIRE(raw->writeAtomically(kKeyB, "o", sealEntry("o", kKeyB, object)));
  REQUIRE(raw->writeAtomically(kKeyA, "step", sealEntry("step", kKeyA, list(kKeyB))));
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> loaded = cache.loadStep(kKeyA);
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0]->getBuffer().str() == object);
  // A list whose recorded hash is not its object's.
  REQUIRE(raw->writeAtomically(kKeyA, "step", sealEntry("step", kKeyA, fmt::format("{} {} {}\n", kKeyB, object.size(), kKeyA))));
  CHECK(cache.loadStep(kKeyA).empty());
}

TEST_CASE("object cache: pruning removes only netc's own files, least recently used first, never those the pruning process uses") {
  ScratchDir dir("netc_cache_prune_");
  std::string why;
  const fs::path path = dir.path() / "cache";
  std::unique_ptr<CacheFolder> folder = CacheFolder::open(path.string(), why);
  REQUIRE(folder);
  const std::vector<std::string> mine = {"notes.txt", "foo.tmp", "model.o", "data.step", kKeyA + ".o.bak", kKeyA};
  for (const std::string& f : mine) writeFile(path / f, "a user's file that netc must not delete\n");
  fs::create_directories(path / (kKeyB + ".o.tmp0000000000000000"));  // a folder with a netc-like name
  REQUIRE(folder->writeAtomically(kKeyA, "o", std::string(1000, 'a')));
  REQUIRE(folder->writeAtomically(kKeyA, "step", "list"));
  REQUIRE(folder->writeAtomically(kKeyB, "o", std::string(1000, 'b')));
  writeFile(path / (kKeyA + ".o.tmpAAAAAAAAAAAAAAAA"), "a writer is about to rename this");
  writeFile(path / (kKeyB + ".step.tmpOLD123"), "a killed writer left this");
  fs::last_write_time(path / (kKeyB + ".step.tmpOLD123"), fs::file_time_type::clock::now() - std::chrono::hours(2));

  folder->prune(1 << 20, {}, kExtensions);  // under the bound: only the stale temporary goes
  CHECK(fs::exists(path / (kKeyA + ".o")));
  CHECK(!fs::exists(path / (kKeyB + ".step.tmpOLD123")));

  // Over the bound: the least recently used go until 3/4 of it is left (2004 bytes, a bound of 1400: one goes).
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(path / (kKeyA + ".o"), now - std::chrono::minutes(30));
  fs::last_write_time(path / (kKeyA + ".step"), now - std::chrono::minutes(20));
  fs::last_write_time(path / (kKeyB + ".o"), now - std::chrono::minutes(10));
  folder->prune(1400, {}, kExtensions);
  CHECK(!fs::exists(path / (kKeyA + ".o")));
  CHECK(fs::exists(path / (kKeyA + ".step")));
  CHECK(fs::exists(path / (kKeyB + ".o")));

  folder->prune(0, {kKeyB + ".o"}, kExtensions);  // a bound of 0 keeps the names the process uses, nothing else of netc's
  CHECK(fs::exists(path / (kKeyB + ".o")));
  CHECK(!fs::exists(path / (kKeyA + ".step")));
  CHECK(fs::exists(path / (kKeyA + ".o.tmpAAAAAAAAAAAAAAAA")));  // young: a concurrent writer's
  CHECK(fs::is_directory(path / (kKeyB + ".o.tmp0000000000000000")));
  for (const std::string& f : mine) {
    CAPTURE(f);
    CHECK(fs::exists(path / f));
  }
}

TEST_CASE("object cache cli: a damaged cached object is compiled again with a note, never run") {
  CacheScene scene("flip");
  scene.trainRight("first");
  std::set<std::string> objects = filesWith(scene.cache, ".o");
  REQUIRE(!objects.empty());
  REQUIRE(!filesWith(scene.cache, ".step").empty());
  auto flipEvery = [&] {
    for (const std::string& o : filesWith(scene.cache, ".o")) {
      std::string bytes = readFile(scene.cache / o);
      REQUIRE(bytes.size() > 200);
      bytes[bytes.size() / 2] ^= 0x55;  // in the code, well before the seal
      writeFile(scene.cache / o, bytes);
    }
  };
  flipEvery();
  CommandResult r = scene.trainRight("flipped");
  CHECK(r.has("netc: note: ignoring cached object"));
  CHECK(r.has("do not match the size and hash in its seal"));
  CHECK(r.has("compiling again"));
  // The objects were written again: the next run takes them without a word.
  CommandResult again = scene.trainRight("again");
  CHECK(!again.has("note"));
  // Found by module key alone (no step list), a damaged object is refused the same way.
  for (const std::string& s : filesWith(scene.cache, ".step")) fs::remove(scene.cache / s);
  flipEvery();
  CommandResult modules = scene.trainRight("modules");
  CHECK(modules.has("netc: note: ignoring cached object"));
}

TEST_CASE("object cache cli: a step list copied from another model is refused, not run on the wrong arena") {
  CacheScene scene("swap");
  scene.trainRight("a");
  const std::set<std::string> mine = filesWith(scene.cache, ".step");
  REQUIRE(!mine.empty());
  REQUIRE(train(scene.cache.string(), scene.dir.path() / "h", "--set H=50").status == 0);
  std::string other;
  for (const std::string& s : filesWith(scene.cache, ".step"))
    if (!mine.count(s)) other = s;
  REQUIRE(!other.empty());
  for (const std::string& s : mine) fs::copy_file(scene.cache / other, scene.cache / s, fs::copy_options::overwrite_existing);
  CommandResult r = scene.trainRight("swapped");
  CHECK(r.has("netc: note: ignoring cached step list"));
  CHECK(r.has("a file copied or renamed from another entry"));
}

TEST_CASE("object cache cli: a step list line leading outside the folder is refused") {
  CacheScene scene("escape");
  scene.trainRight("a");
  const std::set<std::string> mine = filesWith(scene.cache, ".o");
  // Another model's objects, one folder up, and this model's step lists pointing at them as earlier versions
  // of netc would have followed them.
  REQUIRE(train(scene.cache.string(), scene.dir.path() / "h", "--set H=50").status == 0);
  fs::create_directories(scene.dir.path() / "elsewhere");
  int n = 0;
  std::string lines;
  for (const std::string& o : filesWith(scene.cache, ".o")) {
    if (mine.count(o)) continue;
    std::string name = fmt::format("x{}", n++);
    fs::copy_file(scene.cache / o, scene.dir.path() / "elsewhere" / (name + ".o"));
    lines += "../elsewhere/" + name + "\n";
  }
  for (const std::string& s : filesWith(scene.cache, ".step")) writeFile(scene.cache / s, lines);
  CommandResult r = scene.trainRight("escaped");
  CHECK(r.has("netc: note: ignoring cached step list"));
}

TEST_CASE("object cache cli: a FIFO or a link to /dev/zero in place of an object neither hangs nor aborts") {
  CacheScene scene("special");
  scene.trainRight("a");
  for (const bool fifo : {true, false}) {
    for (const std::string& o : filesWith(scene.cache, ".o")) {
      fs::remove(scene.cache / o);
      if (fifo) REQUIRE(::mkfifo((scene.cache / o).c_str(), 0600) == 0);
      else fs::create_symlink("/dev/zero", scene.cache / o);
    }
    CommandResult r = scene.trainRight(fifo ? "fifo" : "zero");
    CHECK(r.has(fifo ? "it is not a regular file; compiling again" : "it is a symbolic link, not a regular file"));
  }
}

TEST_CASE("object cache cli: files of another user are never run") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: giving a file to another user needs root");
    return;
  }
  CacheScene scene("owner");
  scene.trainRight("a");
  for (const std::string& f : filesWith(scene.cache, ".o")) REQUIRE(::chown((scene.cache / f).c_str(), 65534, 65534) == 0);
  for (const std::string& f : filesWith(scene.cache, ".step")) REQUIRE(::chown((scene.cache / f).c_str(), 65534, 65534) == 0);
  CommandResult r = scene.trainRight("foreign");
  CHECK(r.has("belongs to user 65534, not to you (user 0); compiling again"));
}

TEST_CASE("object cache cli: a cache folder other users can write to is not used, with a note saying how to fix it") {
  CacheScene scene("shared");
  fs::permissions(scene.cache, fs::perms::all | fs::perms::sticky_bit, fs::perm_options::replace);
  CommandResult r = scene.trainRight("a");
  CHECK(r.has("netc: note: not using the object cache " + scene.cache.string() +
              ": other users can write to it (mode 1777): run chmod go-w on it"));
  CHECK(fs::is_empty(scene.cache));
}

TEST_CASE("object cache cli: pruning deletes only netc's own files, and NETC_CACHE_MAX_MB must be a whole number") {
  CacheScene scene("bound");
  const std::vector<std::string> users = {"notes.txt", "foo.tmp", "model.o", "0123.step"};
  for (const std::string& f : users) writeFile(scene.cache / f, "the user's own\n");
  scene.trainRight("a");
  // What one compile of the model with H=40 leaves in an empty cache: its step lists and objects.
  const fs::path alone = scene.dir.path() / "alone";
  REQUIRE(train(alone.string(), scene.dir.path() / "h40", "--set H=40").status == 0);
  const std::set<std::string> h40Steps = filesWith(alone, ".step"), h40Objects = filesWith(alone, ".o");
  REQUIRE(!h40Steps.empty());
  // Not a whole number: said, and the default bound kept (the compile of another model prunes nothing).
  int h = 50;
  for (const char* bad : {"abc", "1e3"}) {  // the others the first test case reads
    const std::string env = fmt::format("NETC_CACHE_MAX_MB={}", bad);
    CommandResult r = scene.trainRight("bad", "--force", env);
    CHECK(r.has(fmt::format("netc: warning: NETC_CACHE_MAX_MB='{}' is not a whole number of megabytes; the object "
                            "cache keeps its default bound of 512 MB", bad)));
    const size_t before = filesWith(scene.cache, ".step").size();
    REQUIRE(train(scene.cache.string(), scene.dir.path() / "h", fmt::format("--set H={} --force", h++), env).status == 0);
    CHECK(filesWith(scene.cache, ".step").size() > before);
  }
  // 0: after a compile, the cache keeps the files that process used and no other of netc's; the user's stay.
  REQUIRE(train(scene.cache.string(), scene.dir.path() / "h0", "--set H=40", "NETC_CACHE_MAX_MB=0").status == 0);
  std::set<std::string> steps = h40Steps, objects = h40Objects;
  steps.insert("0123.step");  // the user's, not netc's
  objects.insert("model.o");
  CHECK(filesWith(scene.cache, ".step") == steps);
  CHECK(filesWith(scene.cache, ".o") == objects);
  for (const std::string& f : users) {
    CAPTURE(f);
    CHECK(readFile(scene.cache / f) == "the user's own\n");
  }
  // ... and that step is cached: the same model again links it.
  CommandResult bench = runShell(fmt::format("NETC_CACHE_MAX_MB=0 NETC_CACHE_DIR='{}' \"$NETC\" bench {}{} --set H=40 --steps 2 --warmup 0",
                                          scene.cache.string(), kModel, kData));
  CHECK(bench.has("came from the object cache"));
}

TEST_CASE("object cache cli: many processes compiling and pruning one shared folder at once all get the right code") {
  CacheScene scene("race");
  const fs::path other = scene.dir.path() / "other_off";
  REQUIRE(train("off", other, "--set H=50").status == 0);
  const std::string otherExpected = readFile(other / "losses.csv");
  // Two models, four processes each round, a bound of 0 so every compile prunes what the others wrote.
  for (int round = 0; round < 2; ++round) {
    std::string line;
    for (int p = 0; p < 4; ++p)
      line += fmt::format("NETC_CACHE_MAX_MB=0 NETC_CACHE_DIR='{}' timeout 120 \"$NETC\" run {}{} --steps 3 --no-stats --quiet "
                          "--out '{}' {} > '{}' 2>&1 & pids=\"$pids $!\"; ",
                          scene.cache.string(), kModel, kData, (scene.dir.path() / fmt::format("r{}_{}", round, p)).string(),
                          p % 2 ? "--set H=50" : "", (scene.dir.path() / fmt::format("log{}_{}", round, p)).string());
    CommandResult r = runShell("pids=; " + line + "fail=0; for j in $pids; do wait $j || fail=1; done; exit $fail");
    CHECK_MESSAGE(r.status == 0, r.out);
    for (int p = 0; p < 4; ++p) {
      const std::string log = readFile(scene.dir.path() / fmt::format("log{}_{}", round, p));
      CAPTURE(log);
      CHECK(log.find("note") == std::string::npos);  // a racing reader finds files whole or absent, never damaged
      CHECK(readFile(scene.dir.path() / fmt::format("r{}_{}", round, p) / "losses.csv") == (p % 2 ? otherExpected : scene.expected));
    }
  }
}
