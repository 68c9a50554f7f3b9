// Weights, gradients and batches in the safetensors format: an 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}}, then raw little-endian data. Tensor names are the .net names.
#pragma once
#include <map>
#include <string>

#include "runtime/files/atomic_file.h"
#include "runtime/data/named_tensor.h"

namespace netc {

// Writes F32 tensors (I32 when `asInt` names them) atomically and durably (runtime/files/atomic_file.h; `kind`:
// whether netc or the user chose the path, which decides what may stand there).
// `metadata` goes into the header's __metadata__ string map (beside "netc.state", the names of the state tensors).
void saveSafetensors(const std::string& path, const WeightMap& tensors, const std::vector<std::string>& asInt = {},
                     const std::map<std::string, std::string>& metadata = {}, OutputPath kind = OutputPath::Own);
// The header's __metadata__ string map (empty when the file has none).
std::map<std::string, std::string> loadSafetensorsMetadata(const std::string& path);
// Reads F32/F64/I32/I64 tensors into doubles. Malformed, truncated or overflowing files are clear errors.
WeightMap loadSafetensors(const std::string& path);

}  // namespace netc
