#include "codegen/step_key.h"

#include <cstring>
#include <elf.h>
#include <fmt/format.h>
#include <link.h>
#include <llvm/Support/xxhash.h>

#include "ops/op.h"

namespace netc::codegen {

namespace {

// Every field that can change the generated code must be in the key: a field added to one of these structs
// without being added below would let a changed model reuse stale code, so their sizes are pinned here and
// a new field stops the build until it is hashed.
#if defined(__x86_64__) && defined(__GLIBCXX__)
static_assert(sizeof(Attrs) == 56, "a field was added to Attrs: add it to stepCacheKey, then update this size");
static_assert(sizeof(Node) == 368, "a field was added to Node: add it to stepCacheKey, then update this size");
static_assert(sizeof(CodegenOptions) == 24, "a field was added to CodegenOptions: add it to stepCacheKey");
static_assert(sizeof(PlanOptions) == 8, "a field was added to PlanOptions: add it to stepCacheKey");
static_assert(sizeof(TargetInfo) == 72, "a field was added to TargetInfo: add it to stepCacheKey");
static_assert(sizeof(InitSpec) == 136, "a field was added to InitSpec: add it to stepCacheKey");
#endif

int buildIdNote(struct dl_phdr_info* info, size_t, void* out) {
  // The first object listed is the program itself.
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const auto* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(ElfW(Nhdr));
      const char* desc = name + ((n->n_namesz + 3) & ~3u);
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
        auto* id = static_cast<std::string*>(out);
        for (unsigned k = 0; k < n->n_descsz; ++k) *id += fmt::format("{:02x}", static_cast<unsigned char>(desc[k]));
        return 1;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the program: a shared library's id says nothing about netc's code generator
}

}  // namespace

const std::string& programBuildId() {
  static const std::string id = [] {
    std::string s;
    dl_iterate_phdr(buildIdNote, &s);
    return s;
  }();
  return id;
}

std::string stepCacheKey(const Graph& g, const CodegenOptions& opts, const TargetInfo& target, int modules) {
  if (programBuildId().empty()) return "";
  std::string s = fmt::format("netc-step-v1 build {} modules {}\n", programBuildId(), modules);
  s += fmt::format("options fuse {} profile {} team {} tiled {} bits {} threads {} transpose {} adaptive {}\n",
                   opts.plan.fuse, opts.plan.profile, opts.plan.threads, opts.tiledMatmul, opts.vectorBits,
                   opts.compileThreads, opts.transposeNarrowParams, opts.adaptiveTeam);
  s += fmt::format("target {} | {} | {} {}\n", target.triple, target.dataLayout, target.vectorLanes, target.preferWidth);
  s += fmt::format("loss {}\n", g.loss);
  auto ints = [&](const auto& v) {
    for (auto x : v) s += fmt::format("{},", x);
    s += ' ';
  };
  for (const Node& n : g.nodes) {
    // Doubles as hex floats: exact, so 0.1 and 0.1000000001 differ.
    s += fmt::format("{} {} {} {:a} {} ", n.id, n.op->name, static_cast<int>(n.dtype), n.attrs.value, n.name);
    ints(n.inputs), ints(n.attrs.ints), ints(n.attrs.shape), ints(n.shape);
    s += fmt::format("{} {} {} {} {} {} {} {} {} [{}] {} {} ", n.loc.line, n.loc.col, n.loc.len, n.span.line,
                     n.span.col, n.span.endLine, n.span.endCol, static_cast<int>(n.phase), n.gradOf,
                     scopeText(n.scope), n.trainable, n.probe.has_value());
    if (n.probe)
      s += fmt::format("{}{}{}{}{} ", n.probe->hist, n.probe->saturation, n.probe->dead, n.probe->stats, n.probe->marked);
    s += fmt::format("{} {:a} {:a} {:a} {} ", static_cast<int>(n.init.kind), n.init.a, n.init.b, n.init.scale, n.init.text);
    for (const InitStep& st : n.init.steps) s += fmt::format("{}{:a},", st.divide, st.by);
    for (const InitOp& op : n.init.program) s += fmt::format("{}:{:a}:{:a},", static_cast<int>(op.kind), op.a, op.b);
    s += n.init.global ? "g " : "- ";
    s += '\n';
  }
  llvm::XXH128_hash_t h = llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

}  // namespace netc::codegen
