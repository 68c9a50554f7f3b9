#include "codegen/jit.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <fmt/format.h>
#include <mutex>
#include <thread>

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
#include <llvm/Transforms/Utils/Cloning.h>

#include "codegen/object_cache.h"

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
  ObjectCache* cache = stepKey.empty() ? nullptr : ObjectCache::instance();
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
        ObjectCache* cache = ObjectCache::instance();
        const llvm::Module* mod = parts[i].module.get();
        if (cache) cache->remember(mod, cache->moduleKey(*mod));
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
  if (ObjectCache* cache = ObjectCache::instance()) {
    std::vector<std::string> keys;
    std::vector<const llvm::MemoryBuffer*> compiled;
    for (size_t i = 0; i < parts.size(); ++i) {
      keys.push_back(cache->keyOf(parts[i].module.get()));
      compiled.push_back(objects[i].get());
    }
    cache->saveStep(stepKey, keys, compiled);
  }
  link(std::move(objects));
  stats_.optimize = optMs;
  stats_.machineCode = codeMs;
  stats_.wall = ms(start, Clock::now());
}

CompiledStep::~CompiledStep() = default;

}  // namespace netc::codegen
