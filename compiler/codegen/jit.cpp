#include "codegen/jit.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <map>
#include <mutex>
#include <thread>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/time.h>
#include <tuple>
#include <unistd.h>

#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/ObjectCache.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/Support/xxhash.h>
#include <llvm/Transforms/Utils/Cloning.h>

namespace netc::codegen {

namespace {

void initLLVM() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

[[noreturn]] void llvmFail(std::string_view what, llvm::Error e) {
  fail(fmt::format("LLVM could not {}: {}", what, llvm::toString(std::move(e))));
}

template <class T>
T check(llvm::Expected<T> e, std::string_view what) {
  if (!e) llvmFail(what, e.takeError());
  return std::move(*e);
}

llvm::orc::JITTargetMachineBuilder hostBuilder() {
  initLLVM();
  auto jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "describe this machine");
  jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  return jtmb;
}

// Compiled objects on disk, so compiling the same model again (a sweep's runs, a rerun, the tests) skips the
// optimiser and code generation. An llvm::ObjectCache keyed by a 128-bit hash of the module's IR before
// optimisation, the host CPU and its features, the triple, the LLVM version and the code generation settings.
// Files are written to a temporary in the cache folder and renamed into place, so concurrent writers (the
// runs of a sweep) never expose half a file: a reader sees the whole object or none. The folder:
// $NETC_CACHE_DIR (off: no cache), else $XDG_CACHE_HOME/netc/objects, else ~/.cache/netc/objects; when it
// cannot be created or written, compiling simply goes on without it.
class DiskObjectCache final : public llvm::ObjectCache {
 public:
  static DiskObjectCache* instance() {
    static DiskObjectCache* cache = [] () -> DiskObjectCache* {
      std::string dir;
      if (const char* d = std::getenv("NETC_CACHE_DIR")) {
        if (std::string_view(d) == "off" || std::string_view(d) == "0" || !*d) return nullptr;
        dir = d;
      } else if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) {
        dir = std::string(x) + "/netc/objects";
      } else if (const char* h = std::getenv("HOME"); h && *h) {
        dir = std::string(h) + "/.cache/netc/objects";
      } else {
        return nullptr;
      }
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      if (ec || ::access(dir.c_str(), W_OK | X_OK) != 0) return nullptr;
      return new DiskObjectCache(dir);
    }();
    return cache;
  }

  // The key of a module as it is now (call before optimising it).
  std::string key(const llvm::Module& m) {
    static const std::string host = [] {
      std::string h = fmt::format("netc-objects-v1 llvm {} cpu {} triple {} O3 aggressive\n", LLVM_VERSION_STRING,
                                  llvm::sys::getHostCPUName().str(), llvm::sys::getProcessTriple());
      llvm::StringMap<bool> f = llvm::sys::getHostCPUFeatures();
      std::vector<std::string> names;
      for (const auto& e : f) names.push_back((e.second ? "+" : "-") + e.first().str());
      std::sort(names.begin(), names.end());
      for (const auto& n : names) h += n + ",";
      return h + "\n";
    }();
    // The bitcode rather than the printed IR: the same module gives the same bytes, several times faster.
    llvm::SmallVector<char, 0> text(host.begin(), host.end());
    {
      llvm::raw_svector_ostream os(text);
      llvm::WriteBitcodeToFile(m, os);
    }
    llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    return fmt::format("{:016x}{:016x}", h.high64, h.low64);
  }
  void remember(const llvm::Module* m, std::string k) {
    std::lock_guard<std::mutex> lock(mu_);
    keys_[m] = std::move(k);
  }

  void notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) override {
    const std::string k = keyOf(m);
    if (k.empty()) return;
    writeAtomically(path(k), std::string_view(obj.getBufferStart(), obj.getBufferSize()));
  }

  // A step's object files, by the keys of its modules, under its step key: one line per module.
  void saveStep(const std::string& stepKey, const std::vector<std::string>& moduleKeys) {
    std::string text;
    for (const std::string& k : moduleKeys) text += k + "\n";
    writeAtomically(dir_ + "/" + stepKey + ".step", text);
    prune();
  }
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> loadStep(const std::string& stepKey) {
    std::vector<std::unique_ptr<llvm::MemoryBuffer>> out;
    auto list = llvm::MemoryBuffer::getFile(dir_ + "/" + stepKey + ".step", /*IsText=*/true);
    if (!list) return out;
    llvm::SmallVector<llvm::StringRef, 16> keys;
    (*list)->getBuffer().split(keys, '\n', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef k : keys) {
      auto buf = llvm::MemoryBuffer::getFile(path(k.str()), /*IsText=*/false, /*RequiresNullTerminator=*/false);
      if (!buf || (*buf)->getBufferSize() == 0) return {};  // an object was removed: compile again
      out.push_back(std::move(*buf));
      touch(path(k.str()));
    }
    touch(dir_ + "/" + stepKey + ".step");
    return out;
  }
  std::string keyOf(const llvm::Module* m) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = keys_.find(m);
    return it == keys_.end() ? std::string() : it->second;
  }

  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module* m) override {
    const std::string k = keyOf(m);
    if (k.empty()) return nullptr;
    auto buf = llvm::MemoryBuffer::getFile(path(k), /*IsText=*/false, /*RequiresNullTerminator=*/false);
    if (!buf || (*buf)->getBufferSize() == 0) return nullptr;
    return std::move(*buf);
  }

 private:
  explicit DiskObjectCache(std::string dir) : dir_(std::move(dir)) {}
  std::string path(const std::string& k) const { return dir_ + "/" + k + ".o"; }
  // Files used are touched, so pruning removes the ones unused the longest.
  static void touch(const std::string& file) { ::utimes(file.c_str(), nullptr); }

  // The cache is bounded: after a compile writes to it, the least recently used files go until it holds at
  // most 3/4 of kMaxBytes ($NETC_CACHE_MAX_MB overrides the bound). Concurrent pruners may remove the same
  // file; a step whose object is gone is simply compiled again.
  void prune() {
    std::uintmax_t limit = kMaxBytes;
    if (const char* mb = std::getenv("NETC_CACHE_MAX_MB"); mb && *mb) limit = std::strtoull(mb, nullptr, 10) << 20;
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::tuple<fs::file_time_type, std::uintmax_t, fs::path>> files;
    std::uintmax_t total = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
      std::uintmax_t size = e.file_size(ec);
      if (ec) continue;
      fs::file_time_type when = e.last_write_time(ec);
      if (ec) continue;
      files.emplace_back(when, size, e.path());
      total += size;
    }
    if (total <= limit) return;
    std::sort(files.begin(), files.end());
    for (const auto& [when, size, file] : files) {
      if (total <= limit / 4 * 3) break;
      if (fs::remove(file, ec)) total -= size;
    }
  }
  static constexpr std::uintmax_t kMaxBytes = std::uintmax_t{512} << 20;

  // Into a temporary beside `to`, renamed into place: a reader sees the whole file or none. Failing is not an
  // error (the cache is an optimisation).
  void writeAtomically(const std::string& to, std::string_view bytes) {
    std::string tmp = to + ".tmpXXXXXX";
    int fd = ::mkstemp(tmp.data());
    if (fd < 0) return;
    const char* p = bytes.data();
    size_t left = bytes.size();
    bool ok = true;
    while (left > 0 && ok) {
      ssize_t n = ::write(fd, p, left);
      if (n <= 0) ok = false;
      else p += n, left -= static_cast<size_t>(n);
    }
    ::fchmod(fd, 0644);
    ok = ::close(fd) == 0 && ok;
    if (!ok || ::rename(tmp.c_str(), to.c_str()) != 0) ::unlink(tmp.c_str());
  }
  std::string dir_;
  std::mutex mu_;
  std::map<const llvm::Module*, std::string> keys_;
};

}  // namespace

HostTarget::HostTarget(const CodegenOptions& opts) {
  auto jtmb = hostBuilder();
  tm_ = check(jtmb.createTargetMachine(), "create a target machine for this machine");
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  bool avx512 = features.lookup("avx512f"), avx = features.lookup("avx");
  unsigned widest = avx512 ? 512 : avx ? 256 : 128;
  // An explicit width is honoured even beyond the host's (LLVM splits such vectors into legal ones): that is
  // how the 16-lane code is tested on machines without AVX-512.
  // The default is the widest the host has. On AVX-512 (measured on a Sapphire Rapids guest) 16-float code
  // runs the lecture MLP's step 1.4x (batch 32) to 1.5x (batch 256 and 1024) faster than 8-float code: the
  // products are explicit register tiles, which do twice the work per instruction whatever LLVM's cost model
  // (which prefers 256 bits there) would have chosen.
  unsigned bits = opts.vectorBits ? opts.vectorBits : widest;
  if (bits != 128 && bits != 256 && bits != 512)
    fail(fmt::format("vector width {} bits is not supported: use 128, 256 or 512", bits));
  info_.vectorLanes = bits / 32;
  // LLVM's cost model stays at 256 bits on AVX-512 parts unless a function asks for more.
  info_.preferWidth = bits >= 512 ? 512 : 0;
  info_.triple = tm_->getTargetTriple().str();
  info_.dataLayout = tm_->createDataLayout().getStringRepresentation();
}

HostTarget::~HostTarget() = default;

std::string HostTarget::cpu() const { return tm_->getTargetCPU().str(); }

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  // Declared in this order so they are destroyed in the reverse one, as the new pass manager requires.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = true;
  pto.SLPVectorization = true;
  pto.LoopUnrolling = true;
  pto.LoopInterleaving = true;
  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  mpm.run(m, mam);
}

std::string printModule(const llvm::Module& m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  m.print(os, nullptr);
  return s;
}

static std::string emitFile(llvm::Module& m, llvm::TargetMachine& tm, llvm::CodeGenFileType type) {
  llvm::SmallString<0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type)) fail("LLVM cannot emit code for this machine");
  pm.run(m);
  return std::string(buf.str());
}

std::string emitAssembly(llvm::Module& m, llvm::TargetMachine& tm) {
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(m);  // code generation rewrites the module
  return emitFile(*copy, tm, llvm::CodeGenFileType::AssemblyFile);
}

std::unique_ptr<llvm::MemoryBuffer> emitObject(llvm::Module& m, llvm::TargetMachine& tm) {
  return llvm::MemoryBuffer::getMemBufferCopy(emitFile(m, tm, llvm::CodeGenFileType::ObjectFile),
                                              m.getModuleIdentifier());
}

void CompiledStep::startJit() {
  jit_ = check(llvm::orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(hostBuilder())
                   .setLinkProcessSymbolsByDefault(false)  // nothing from the process unless listed below
                   // No static constructors or TLS in generated code, so no platform runtime is needed.
                   .setPlatformSetUp(llvm::orc::setUpInactivePlatform)
                   .create(),
               "start the JIT");
  // The only functions generated code may call: LLVM turns zeroing and copying loops into these.
  llvm::orc::SymbolMap symbols;
  auto add = [&](const char* name, void* addr) {
    symbols[jit_->mangleAndIntern(name)] = llvm::orc::ExecutorSymbolDef(
        llvm::orc::ExecutorAddr::fromPtr(addr), llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  };
  add("memset", reinterpret_cast<void*>(&std::memset));
  add("memcpy", reinterpret_cast<void*>(&std::memcpy));
  add("memmove", reinterpret_cast<void*>(&std::memmove));
  // The pow op's llvm.pow (ops/pow.cpp) calls the C library's: accurate where exp(y * log x) would not be.
  add("powf", reinterpret_cast<void*>(static_cast<float (*)(float, float)>(&powf)));
  if (llvm::Error e = jit_->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(symbols))))
    llvmFail("register runtime symbols", std::move(e));
}

void CompiledStep::lookupStep() {
  auto addr = check(jit_->lookup(kStepFunction), "compile the step function");
  step_ = addr.toPtr<StepFn>();
}

std::unique_ptr<CompiledStep> CompiledStep::fromCache(const std::string& stepKey) {
  DiskObjectCache* cache = stepKey.empty() ? nullptr : DiskObjectCache::instance();
  if (!cache) return nullptr;
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects = cache->loadStep(stepKey);
  if (objects.empty()) return nullptr;
  std::unique_ptr<CompiledStep> c(new CompiledStep());
  c->stats_.cachedModules = static_cast<unsigned>(objects.size());
  c->stats_.cachedStep = true;
  c->link(std::move(objects));
  c->stats_.wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return c;
}

void CompiledStep::link(std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects) {
  auto start = std::chrono::steady_clock::now();
  startJit();
  for (auto& obj : objects)
    if (llvm::Error e = jit_->addObjectFile(std::move(obj))) llvmFail("load compiled code", std::move(e));
  lookupStep();
  stats_.link = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

StepFn CompiledStep::function(const char* name) const {
  auto addr = jit_->lookup(name);
  if (!addr) {
    llvm::consumeError(addr.takeError());
    return nullptr;
  }
  return addr->toPtr<StepFn>();
}

CompiledStep::CompiledStep(std::vector<StepModule> parts, unsigned threads, const std::string& stepKey) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto start = Clock::now();
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min<unsigned>(threads, static_cast<unsigned>(parts.size()));
  stats_.threads = threads;
  // Biggest modules first, so the last ones to finish are small.
  std::vector<size_t> order(parts.size());
  std::vector<size_t> size(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    order[i] = i;
    for (const llvm::Function& f : *parts[i].module) size[i] += f.getInstructionCount();
  }
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size[a] > size[b]; });
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> objects(parts.size());
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr failure;
  double optMs = 0, codeMs = 0;
  auto worker = [&] {
    try {
      // A target machine per thread: LLVM does not promise that one can be shared.
      std::unique_ptr<llvm::TargetMachine> tm = check(hostBuilder().createTargetMachine(), "create a target machine");
      for (size_t n; (n = next++) < order.size();) {
        size_t i = order[n];
        auto t0 = Clock::now();
        DiskObjectCache* cache = DiskObjectCache::instance();
        const llvm::Module* mod = parts[i].module.get();
        if (cache) cache->remember(mod, cache->key(*mod));
        if (cache && (objects[i] = cache->getObject(mod))) {
          std::lock_guard<std::mutex> lock(mu);
          optMs += ms(t0, Clock::now());
          ++stats_.cachedModules;
          continue;
        }
        optimize(*parts[i].module, *tm);
        auto t1 = Clock::now();
        objects[i] = emitObject(*parts[i].module, *tm);
        if (cache) cache->notifyObjectCompiled(mod, objects[i]->getMemBufferRef());
        auto t2 = Clock::now();
        std::lock_guard<std::mutex> lock(mu);
        optMs += ms(t0, t1), codeMs += ms(t1, t2);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu);
      if (!failure) failure = std::current_exception();
      next = order.size();  // stop the others early
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (DiskObjectCache* cache = DiskObjectCache::instance(); cache && !stepKey.empty()) {
    std::vector<std::string> keys;
    for (const StepModule& p : parts) keys.push_back(cache->keyOf(p.module.get()));
    cache->saveStep(stepKey, keys);
  }
  link(std::move(objects));
  stats_.optimize = optMs;
  stats_.machineCode = codeMs;
  stats_.wall = ms(start, Clock::now());
}

CompiledStep::~CompiledStep() = default;

}  // namespace netc::codegen
