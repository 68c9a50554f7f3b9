// Compiled objects on disk, so compiling the same model again (a sweep's runs, a rerun, the tests) skips the
// optimiser and code generation, and, by the step key (step_key.h), building the IR as well.
//
// Two kinds of entries, each a file of the cache folder (cache_folder.h) named by its key:
// - `<module key>.o`: the object code of one module, under a 128-bit hash of the module's IR before
//   optimisation, the host CPU and its features, the triple, the LLVM version and the code generation settings.
// - `<step key>.step`: the list of a step's modules, one line each: the module's key, the size of its object
//   and the xxh3-128 hash of the object's bytes.
// Every entry ends with a seal, one line: `netc-cache-v2 <kind> <key> <size> <xxh3-128>` (size and hash of
// everything before the line). An entry is used only when its seal names the kind and the key it was looked up
// by (so a file copied or renamed from another entry is refused) and the size and hash match its bytes (so a
// damaged or edited file is refused); an object listed by a step must also be the exact object the list
// recorded. Keys are 32 hex digits, checked before they name a file, so a list cannot name anything outside
// the folder. A hash is not a signature: it proves an entry is what the key says against damage, mix-ups and
// races, while the folder's and the files' owner checks keep other users from writing any entry.
//
// Whatever fails a check is compiled again, with a note on stderr; a file that is simply absent (never
// written, or pruned by a concurrent process) is compiled again silently.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <llvm/ExecutionEngine/ObjectCache.h>

#include "codegen/cache_folder.h"

namespace llvm {
class MemoryBuffer;
class Module;
}  // namespace llvm

namespace netc::codegen {

// An entry's bytes: `payload` followed by its seal.
std::string sealEntry(std::string_view kind, const std::string& key, std::string_view payload);
// The payload of a sealed entry of that kind and key, or the reason it is not one (`problem` set).
struct Unsealed {
  std::string_view payload;
  std::string hash;     // of the payload (contentHash), as checked against the seal
  std::string problem;  // set when the bytes are not a sealed entry of that kind and key
};
Unsealed unsealEntry(std::string_view kind, const std::string& key, std::string_view bytes);

// 32 hex digits of the xxh3-128 hash of `bytes`.
std::string contentHash(std::string_view bytes);

class ObjectCache final : public llvm::ObjectCache {
 public:
  // The process's cache: the folder $NETC_CACHE_DIR (off, 0 or empty: no cache), else
  // $XDG_CACHE_HOME/netc/objects, else ~/.cache/netc/objects, bounded by $NETC_CACHE_MAX_MB (default 512).
  // nullptr when there is none; a folder that cannot be used is said on stderr once, with why.
  static ObjectCache* instance();

  ObjectCache(std::unique_ptr<CacheFolder> folder, std::uint64_t maxBytes);
  static constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{512} << 20;
  // Far beyond any object or list netc writes (gru.net's largest object is 140 KB), and bounding what is read.
  static constexpr std::uint64_t kMaxObjectBytes = std::uint64_t{256} << 20;
  static constexpr std::uint64_t kMaxStepListBytes = std::uint64_t{1} << 20;

  // The key of a module as it is now (call before optimising it), and the modules' keys as they are compiled.
  std::string moduleKey(const llvm::Module& m) const;
  void remember(const llvm::Module* m, std::string key);
  std::string keyOf(const llvm::Module* m);

  // llvm::ObjectCache: a module's object by its remembered key, checked; stored sealed.
  std::unique_ptr<llvm::MemoryBuffer> getObject(const llvm::Module* m) override;
  void notifyObjectCompiled(const llvm::Module* m, llvm::MemoryBufferRef obj) override;

  // Records which objects make the step (each module's key and object, in order) under `stepKey` (none when
  // empty), then prunes the folder. Pruning keeps every file this process has read or written (this step's
  // among them): a bound of 0 keeps those and no other of netc's files.
  void saveStep(const std::string& stepKey, const std::vector<std::string>& moduleKeys,
                const std::vector<const llvm::MemoryBuffer*>& objects);
  // The objects of a step saved earlier, each checked against the list; empty when any is missing or fails a
  // check (the step is then compiled).
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> loadStep(const std::string& stepKey);

 private:
  // Says once on stderr that a cached file is not used, and why ("netc: note: ignoring cached ...").
  void ignore(std::string_view what, const std::string& key, std::string_view ext, const std::string& problem);
  void use(const std::string& key, std::string_view ext);
  // An object by key, its seal checked (its hash into `hash`); null when absent or refused (with a note).
  std::unique_ptr<llvm::MemoryBuffer> readObject(const std::string& key, std::string* hash = nullptr);

  std::unique_ptr<CacheFolder> folder_;
  std::uint64_t maxBytes_;
  std::mutex mu_;
  std::map<const llvm::Module*, std::string> keys_;
  std::set<std::string> noted_;  // files already reported, so each is said once
  std::set<std::string> used_;   // names of the files this process read or wrote: never pruned by it
};

}  // namespace netc::codegen
