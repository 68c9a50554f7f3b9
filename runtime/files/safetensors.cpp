// The safetensors format, read defensively: every length and offset in the header is checked against the
// file before it is used, so a truncated or hostile file is a clear error rather than a crash.
#include "runtime/files/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <optional>

#include "runtime/files/atomic_file.h"
#include "runtime/files/json_fields.h"
#include "support/diag.h"
#include "support/files.h"

namespace netc {

namespace {

// The header is JSON text; a real one is a few KB. A cap keeps a corrupt length from allocating gigabytes.
constexpr uint64_t kMaxHeader = 100ull << 20;

[[noreturn]] void bad(const std::string& path, const std::string& msg) {
  fail(fmt::format("{}: not a valid safetensors file: {}", path, msg));
}

void putLE(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t getLE(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Byte order is fixed (little-endian) by the format, so values are assembled byte by byte rather than
// memcpy'd: the code stays right on any host.
double decode(const unsigned char* p, const std::string& dtype) {
  if (dtype == "F32") {
    uint32_t bits = static_cast<uint32_t>(getLE(p, 4));
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  if (dtype == "F64") {
    uint64_t bits = getLE(p, 8);
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (dtype == "I32") return static_cast<int32_t>(static_cast<uint32_t>(getLE(p, 4)));
  return static_cast<double>(static_cast<int64_t>(getLE(p, 8)));  // I64
}

int dtypeSize(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F64" || dtype == "I64") return 8;
  return 0;
}

// The file's bytes. A regular file is read whole, up to the most a header and its data may be. A pipe is read
// no further than its header says it reaches: the 8-byte length, the header (at most kMaxHeader), then as many
// data bytes as the header's largest data_offsets end, plus one to notice bytes past it (which the tiling
// check in loadSafetensors refuses). An endless pipe or a corrupt length stops there, never exhausting memory.
std::string readAll(const std::string& path) {
  if (inputFileProblem(path) == "no such file") fail(fmt::format("{}: cannot open: no such file", path));
  InputFile in(path, "safetensors file");
  if (in.size()) {
    constexpr uint64_t kMost = 8 + kMaxHeader + kMaxTensorFileBytes;
    std::optional<std::string> whole = *in.size() <= kMost ? in.readAtMost(kMost) : std::nullopt;
    if (!whole)
      bad(path, fmt::format("it holds more than netc reads for weights (a header of {} and {} of data)",
                            byteCount(kMaxHeader), byteCount(kMaxTensorFileBytes)));
    return std::move(*whole);
  }
  std::string file = in.read(8);
  if (file.size() < 8) return file;  // too short: the caller says so
  const uint64_t headerLen = getLE(reinterpret_cast<const unsigned char*>(file.data()), 8);
  if (headerLen > kMaxHeader)
    bad(path, fmt::format("the header length {} is larger than the file or than the {} netc reads for a header",
                          headerLen, byteCount(kMaxHeader)));
  file += in.read(headerLen);
  if (file.size() < 8 + headerLen) return file;
  // The data's extent as the header claims it; the checks in loadSafetensors judge the claim.
  uint64_t dataEnd = 0;
  const nlohmann::json header = nlohmann::json::parse(file.begin() + 8, file.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_object())
    for (const auto& [name, info] : header.items())
      if (info.is_object() && info.contains("data_offsets") && info["data_offsets"].is_array())
        for (const auto& o : info["data_offsets"])
          if (o.is_number_unsigned()) dataEnd = std::max(dataEnd, o.get<uint64_t>());
  if (dataEnd > kMaxTensorFileBytes)
    bad(path, fmt::format("the header places data at byte {}, beyond the {} netc reads", dataEnd, byteCount(kMaxTensorFileBytes)));
  file += in.read(dataEnd + 1);
  return file;
}

}  // namespace

void saveSafetensors(const std::string& path, const WeightMap& tensors, const std::vector<std::string>& asInt,
                     const std::map<std::string, std::string>& metadata, OutputPath kind) {
  for (const auto& name : asInt)
    if (!tensors.count(name)) fail(fmt::format("{}: asked to write '{}' as int32, but there is no such tensor", path, name));
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  // Which tensors are state (running statistics, optimizer moments) rather than parameters; the format's
  // metadata is a map of strings.
  std::string states;
  for (const auto& [name, t] : tensors)
    if (t.state) states += (states.empty() ? "" : ",") + name;
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  if (!states.empty()) meta["netc.state"] = states;
  if (!meta.empty()) header["__metadata__"] = meta;
  std::string data;
  for (const auto& [name, t] : tensors) {
    if (static_cast<int64_t>(t.data.size()) != numel(t.shape))
      fail(fmt::format("{}: tensor '{}' has {} values but shape {}", path, name, t.data.size(), shapeStr(t.shape)));
    bool isInt = std::find(asInt.begin(), asInt.end(), name) != asInt.end();
    size_t begin = data.size();
    for (double v : t.data) {
      if (isInt) {
        putLE(data, static_cast<uint32_t>(static_cast<int32_t>(v)), 4);
      } else {
        float f = static_cast<float>(v);
        uint32_t bits;
        std::memcpy(&bits, &f, 4);
        putLE(data, bits, 4);
      }
    }
    header[name] = {{"dtype", isInt ? "I32" : "F32"}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  std::string json = header.dump();
  // Pad the header with spaces to a multiple of 8, as the reference writer does, so the data is aligned.
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string bytes;
  putLE(bytes, json.size(), 8);
  bytes += json;
  bytes += data;

  // Atomic and fsynced: a reader never sees a half-written file, and a crash mid-write leaves the old one.
  writeFileAtomically(path, bytes, kind);
}

std::map<std::string, std::string> loadSafetensorsMetadata(const std::string& path) {
  loadSafetensors(path);  // the whole file checked first
  std::string file = readAll(path);
  uint64_t headerLen = getLE(reinterpret_cast<const unsigned char*>(file.data()), 8);
  nlohmann::json header = nlohmann::json::parse(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(headerLen));
  std::map<std::string, std::string> out;
  if (header.contains("__metadata__") && header["__metadata__"].is_object())
    for (auto& [k, v] : header["__metadata__"].items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

WeightMap loadSafetensors(const std::string& path) {
  std::string file = readAll(path);
  const auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  if (file.size() < 8) bad(path, fmt::format("the file is {} bytes, shorter than the 8-byte header length", file.size()));
  uint64_t headerLen = getLE(bytes, 8);
  if (headerLen > kMaxHeader || headerLen > file.size() - 8)
    bad(path, fmt::format("the header length {} is larger than the file ({} bytes)", headerLen, file.size()));

  const auto headerBegin = file.begin() + 8, headerEnd = headerBegin + static_cast<std::ptrdiff_t>(headerLen);
  nlohmann::json header;
  try {
    // First the keys alone, then the tree: a DOM parse keeps the last of two equal keys, so a second entry
    // for one tensor would silently replace the first.
    if (std::string twice = firstDuplicateKey(std::string_view(file).substr(8, headerLen)); !twice.empty())
      bad(path, fmt::format("the header has the key '{}' twice", twice));
    header = nlohmann::json::parse(headerBegin, headerEnd);
  } catch (const nlohmann::json::exception& e) {
    bad(path, fmt::format("the header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) bad(path, "the header is not a JSON object");

  const uint64_t dataLen = file.size() - 8 - headerLen;
  const unsigned char* data = bytes + 8 + headerLen;
  WeightMap out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;  // free-form string map written by other tools
    auto where = [&](const std::string& msg) { bad(path, fmt::format("tensor '{}': {}", name, msg)); };
    if (!info.is_object()) where("its entry is not an object");
    if (!info.contains("dtype") || !info["dtype"].is_string()) where("missing string 'dtype'");
    if (!info.contains("shape") || !info["shape"].is_array()) where("missing array 'shape'");
    if (!info.contains("data_offsets") || !info["data_offsets"].is_array() || info["data_offsets"].size() != 2)
      where("missing 'data_offsets' [begin, end]");
    std::string dtype = info["dtype"];
    int size = dtypeSize(dtype);
    if (size == 0) where(fmt::format("unsupported dtype '{}' (expected F32, F64, I32 or I64)", dtype));

    Shape shape;
    uint64_t count = 1;
    for (const auto& d : info["shape"]) {
      if (!d.is_number_unsigned()) where("shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (dim > (1ull << 48)) where(fmt::format("dimension {} is implausibly large", dim));
      // Checked multiply: a shape like [2^40, 2^40] must not wrap around to a small, plausible size.
      if (__builtin_mul_overflow(count, dim, &count)) where(fmt::format("shape {} overflows", info["shape"].dump()));
      shape.push_back(static_cast<int64_t>(dim));
    }
    for (const auto& o : info["data_offsets"])
      if (!o.is_number_unsigned()) where("data_offsets must be non-negative integers");
    uint64_t begin = info["data_offsets"][0], end = info["data_offsets"][1];
    if (begin > end || end > dataLen)
      where(fmt::format("data_offsets [{}, {}] fall outside the {} bytes of data", begin, end, dataLen));
    uint64_t need;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(size), &need) || end - begin != need)
      where(fmt::format("data_offsets [{}, {}] hold {} bytes, but shape {} of {} needs {}", begin, end, end - begin,
                        shapeStr(shape), dtype, fmt::format("{} values of {} bytes", count, size)));
    ranges.emplace_back(begin, end);

    NamedTensor t{shape, std::vector<double>(count)};
    for (uint64_t i = 0; i < count; ++i) t.data[i] = decode(data + begin + i * size, dtype);
    out[name] = std::move(t);
  }
  if (header.contains("__metadata__") && header["__metadata__"].is_object() &&
      header["__metadata__"].contains("netc.state") && header["__metadata__"]["netc.state"].is_string()) {
    std::string list = header["__metadata__"]["netc.state"];
    for (size_t at = 0; at <= list.size();) {
      size_t end = std::min(list.find(',', at), list.size());
      std::string name = list.substr(at, end - at);
      auto it = out.find(name);
      if (!name.empty() && it == out.end()) bad(path, fmt::format("the metadata names state '{}', but there is no such tensor", name));
      if (it != out.end()) it->second.state = true;
      at = end + 1;
    }
  }
  // The tensors must tile the data exactly, as the format requires: overlapping tensors, a gap between two,
  // or bytes after the last one mean the header does not describe the file (a truncated rewrite, two files
  // concatenated), so none of it can be trusted.
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [begin, end] : ranges) {
    if (begin < covered) bad(path, fmt::format("two tensors overlap at bytes [{}, {})", begin, covered));
    if (begin > covered)
      bad(path, fmt::format("bytes [{}, {}) of the data belong to no tensor", covered, begin));
    covered = end;
  }
  if (covered != dataLen)
    bad(path, fmt::format("{} bytes follow the last tensor's data (the data is {} bytes, the tensors end at {})",
                          dataLen - covered, dataLen, covered));
  return out;
}

}  // namespace netc
