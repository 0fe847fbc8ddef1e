// PyTorch checkpoints (`torch.save` of a state dict): a zip archive holding `<name>/data.pkl`
// (a pickled OrderedDict of tensors) and one `<name>/data/<key>` entry per storage.
//
// Reading runs a small pickle machine that knows only what such a state dict contains:
// OrderedDict, torch._utils._rebuild_tensor_v2 and the Float/BFloat16/Half storage types.
// Any other global (the way a pickle executes code) is refused with a FormatError.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "seer/dtype.h"

namespace seer {

struct PthTensor {
  std::string name;
  DType dtype = DType::kF32;  // As stored: F32, BF16 or F16.
  std::vector<std::int64_t> shape;
  std::vector<float> values;  // Row-major (contiguous), converted to fp32.
};

// Reads every tensor of the state dict in `path`, in file order.
std::vector<PthTensor> ReadPthStateDict(const std::string& path);

// Writes the tensors as a state dict that torch.load reads, storing each in its `dtype`
// (F32 or BF16), atomically.
void WritePthStateDict(const std::string& path, const std::vector<PthTensor>& tensors);

}  // namespace seer
