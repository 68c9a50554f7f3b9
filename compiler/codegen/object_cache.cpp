#include "codegen/object_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>
#include <llvm/TargetParser/Host.h>

#include "support/diag.h"

namespace netc::codegen {

namespace {

constexpr std::string_view kSealMagic = "netc-cache-v2 ";
constexpr size_t kSizeDigits = 16;  // the payload's size in the seal, in hex

size_t sealLength(std::string_view kind) { return kSealMagic.size() + kind.size() + 1 + 32 + 1 + kSizeDigits + 1 + 32 + 1; }

std::string seal(std::string_view kind, const std::string& key, std::string_view payload, const std::string& hash) {
  return fmt::format("{}{} {} {:016x} {}\n", kSealMagic, kind, key, payload.size(), hash);
}

// A read object, owned by the buffer LLVM links from: the file's bytes, of which the first `size` are the
// object (the seal follows). No copy of the object is made.
class CachedObject final : public llvm::MemoryBuffer {
 public:
  CachedObject(std::string bytes, size_t size, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {
    init(bytes_.data(), bytes_.data() + size, /*RequiresNullTerminator=*/false);
  }
  BufferKind getBufferKind() const override { return MemoryBuffer_Malloc; }
  llvm::StringRef getBufferIdentifier() const override { return name_; }

 private:
  std::string bytes_;
  std::string name_;
};

// One line of a step list: a module's key, its object's size and hash.
struct ListedObject {
  std::string key;
  std::uint64_t size = 0;
  std::string hash;
};

// The lines of a step list's payload; `problem` set (and the result empty) at the first line that is not
// `<32 hex> <decimal size> <32 hex>`. A key is checked here, before it can name a file.
std::vector<ListedObject> parseStepList(std::string_view text, std::string& problem) {
  std::vector<ListedObject> out;
  int line = 0;
  while (!text.empty()) {
    ++line;
    size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      problem = fmt::format("line {} does not end", line);
      return {};
    }
    std::string_view l = text.substr(0, end);
    text.remove_prefix(end + 1);
    size_t a = l.find(' '), b = a == std::string_view::npos ? a : l.find(' ', a + 1);
    std::string_view key = l.substr(0, a);
    if (!isCacheKey(key)) {
      problem = fmt::format("line {} names '{}{}', which is not a cache key (32 hex digits)", line, key.substr(0, 40),
                            key.size() > 40 ? "..." : "");
      return {};
    }
    std::string_view size = b == std::string_view::npos ? "" : l.substr(a + 1, b - a - 1);
    std::string_view hash = b == std::string_view::npos ? "" : l.substr(b + 1);
    std::optional<std::uint64_t> bytes = parseWholeNumber(size, ObjectCache::kMaxObjectBytes);
    if (!bytes || !isCacheKey(hash)) {
      problem = fmt::format("line {} is not '<key> <size> <hash>'", line);
      return {};
    }
    out.push_back({std::string(key), *bytes, std::string(hash)});
  }
  if (out.empty()) problem = "it lists no objects";
  return out;
}

}  // namespace

std::string contentHash(std::string_view bytes) {
  llvm::XXH128_hash_t h =
      llvm::xxh3_128bits(llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  return fmt::format("{:016x}{:016x}", h.high64, h.low64);
}

std::string sealEntry(std::string_view kind, const std::string& key, std::string_view payload) {
  std::string out(payload);
  out += seal(kind, key, payload, contentHash(payload));
  return out;
}

Unsealed unsealEntry(std::string_view kind, const std::string& key, std::string_view bytes) {
  Unsealed u;
  const size_t length = sealLength(kind);
  const std::string magic = fmt::format("{}{} ", kSealMagic, kind);
  if (bytes.size() < length || bytes.substr(bytes.size() - length, magic.size()) != magic) {
    u.problem = "it does not end with netc's seal (written by an older netc, or not by netc)";
    return u;
  }
  std::string_view sealed = bytes.substr(bytes.size() - length);
  std::string_view payload = bytes.substr(0, bytes.size() - length);
  std::string_view recordedKey = sealed.substr(magic.size(), 32);
  if (recordedKey != key) {
    u.problem = fmt::format("it is sealed as the entry of key {}: a file copied or renamed from another entry", recordedKey);
    return u;
  }
  const std::string hash = contentHash(payload);
  if (sealed != seal(kind, key, payload, hash)) {
    u.problem = "its bytes do not match the size and hash in its seal: the file was changed or damaged";
    return u;
  }
  u.payload = payload;
  u.hash = hash;
  return u;
}

ObjectCache* ObjectCache::instance() {
  static ObjectCache* cache = []() -> ObjectCache* {
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
    std::uint64_t maxBytes = kDefaultMaxBytes;
    if (const char* mb = std::getenv("NETC_CACHE_MAX_MB")) {
      if (std::optional<std::uint64_t> v = parseCacheMegabytes(mb)) maxBytes = *v << 20;
      else
        fmt::print(stderr, "netc: warning: NETC_CACHE_MAX_MB='{}' is not a whole number of megabytes; the object "
                   "cache keeps its default bound of {} MB\n", printable(mb), kDefaultMaxBytes >> 20);
    }
    std::string why;
    std::unique_ptr<CacheFolder> folder = CacheFolder::open(dir, why);
    if (!folder) {
      fmt::print(stderr, "netc: note: not using the object cache {}: {}; compiling without it\n", printable(dir),
                 printable(why));
      return nullptr;
    }
    return new ObjectCache(std::move(folder), maxBytes);
  }();
  return cache;
}

ObjectCache::ObjectCache(std::unique_ptr<CacheFolder> folder, std::uint64_t maxBytes)
    : folder_(std::move(folder)), maxBytes_(maxBytes) {}

std::string ObjectCache::moduleKey(const llvm::Module& m) const {
  static const std::string host = [] {
    std::string h = fmt::format("netc-objects-v2 llvm {} cpu {} triple {} O3 aggressive\n", LLVM_VERSION_STRING,
                                llvm::sys::getHostCPUName().str(), llvm::sys::getProcessTriple());
    llvm::StringMap<bool> f = llvm::sys::getHostCPUFeatures();
    std::vector<std::string> names;
    for (const auto& e : f) {
      std::string name(1, e.second ? '+' : '-');
      names.push_back(name.append(e.first().data(), e.first().size()));
    }
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
  return contentHash(std::string_view(text.data(), text.size()));
}

void ObjectCache::remember(const llvm::Module* m, std::string key) {
  std::lock_guard<std::mutex> lock(mu_);
  keys_[m] = std::move(key);
}

std::string ObjectCache::keyOf(const llvm::Module* m) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = keys_.find(m);
  return it == keys_.end() ? std::string() : it->second;
}

void ObjectCache::ignore(std::string_view what, const std::string& key, std::string_view ext, const std::string& problem) {
  const std::string file = folder_->path() + "/" + folder_->fileName(key, ext);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!noted_.insert(file).second) return;
  }
  fmt::print(stderr, "netc: note: ignoring cached {} {}: {}; compiling again\n", what, printable(file), printable(problem));
}

void ObjectCache::use(const std::string& key, std::string_view ext) {
  std::lock_guard<std::mutex> lock(mu_);
  used_.insert(folder_->fileName(key, ext));
}

std::unique_ptr<llvm::MemoryBuffer> ObjectCache::readObject(const std::string& key, std::string* hash) {
  CacheFolder::Read r = folder_->read(key, "o", kMaxObjectBytes);
  if (r.missing) return nullptr;
  if (!r.ok()) {
    ignore("object", key, "o", r.problem);
    return nullptr;
  }
  Unsealed u = unsealEntry("o", key, r.bytes);
  if (!u.problem.empty()) {
    ignore("object", key, "o", u.problem);
    return nullptr;
  }
  if (hash) *hash = u.hash;
  use(key, "o");
  const size_t size = u.payload.size();
  return std::make_unique<CachedObject>(std::move(r.bytes), size, folder_->fileName(key, "o"));
}

std::unique_ptr<llvm::MemoryBuffer> ObjectCache::getObject(const llvm::Module* m) {
  const std::string k = keyOf(m);
  return k.empty() ? nullptr : readObject(k);
}

void ObjectCache::notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) {
  const std::string k = keyOf(m);
  if (k.empty()) return;
  if (folder_->writeAtomically(k, "o", sealEntry("o", k, std::string_view(obj.getBufferStart(), obj.getBufferSize()))))
    use(k, "o");
}

void ObjectCache::saveStep(const std::string& stepKey, const std::vector<std::string>& moduleKeys,
                           const std::vector<const llvm::MemoryBuffer*>& objects) {
  std::string list;
  bool complete = moduleKeys.size() == objects.size();
  for (size_t i = 0; complete && i < moduleKeys.size(); ++i) {
    if (!isCacheKey(moduleKeys[i]) || !objects[i]) {
      complete = false;
      break;
    }
    std::string_view bytes(objects[i]->getBufferStart(), objects[i]->getBufferSize());
    list += fmt::format("{} {} {}\n", moduleKeys[i], bytes.size(), contentHash(bytes));
  }
  if (complete && !moduleKeys.empty() && isCacheKey(stepKey) &&
      folder_->writeAtomically(stepKey, "step", sealEntry("step", stepKey, list)))
    use(stepKey, "step");
  std::set<std::string> keep;
  {
    std::lock_guard<std::mutex> lock(mu_);
    keep = used_;
  }
  folder_->prune(maxBytes_, keep, {"o", "step"});
}

std::vector<std::unique_ptr<llvm::MemoryBuffer>> ObjectCache::loadStep(const std::string& stepKey) {
  CacheFolder::Read r = folder_->read(stepKey, "step", kMaxStepListBytes);
  if (r.missing) return {};
  std::string problem = r.problem;
  Unsealed u;
  if (problem.empty()) {
    u = unsealEntry("step", stepKey, r.bytes);
    problem = u.problem;
  }
  std::vector<ListedObject> listed;
  if (problem.empty()) listed = parseStepList(u.payload, problem);
  if (!problem.empty()) {
    ignore("step list", stepKey, "step", problem);
    return {};
  }
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> out;
  for (const ListedObject& o : listed) {
    std::string hash;
    std::unique_ptr<llvm::MemoryBuffer> obj = readObject(o.key, &hash);
    if (!obj) return {};  // absent (pruned, or never written: compiled again) or refused (with a note)
    if (obj->getBufferSize() != o.size || hash != o.hash) {
      ignore("step list", stepKey, "step", fmt::format("its object {} is not the one it recorded", folder_->fileName(o.key, "o")));
      return {};
    }
    out.push_back(std::move(obj));
  }
  use(stepKey, "step");
  return out;
}

}  // namespace netc::codegen
