// Gate files, in two layouts that hold the same weights:
//  - safetensors (this project's own): one tensor per layer and linear, with `__metadata__`
//    giving the gate type, block size, d_gate, the model's identity and shape, and the
//    recommended selection;
//  - the reference implementation's: `attn_gate_weights.pth` (a PyTorch state dict, F32 or BF16)
//    with a `config.json` beside it holding the `seerattn_*` keys and the model's shape.
// Both use the reference's tensor names (GateTensorName), so gates move between the two.
#pragma once

#include <optional>
#include <string>

#include "seer/block_selection.h"
#include "seer/dtype.h"
#include "seer/gate.h"

namespace seer {

// "model.layers.{layer}.self_attn.attn_gate.mask_linear_{k|q}.weight"
std::string GateTensorName(int layer, bool q_linear);

struct GateFile {
  Gates gates;
  // The selection the file recommends (seerattn_sparsity_method and friends), when it says.
  std::optional<SelectionOptions> recommended;
};

// Reads a .pth (with config.json beside it) or a safetensors gate file.
GateFile ReadGateFile(const std::string& path);

// Writes `gates` atomically: as .pth + config.json when `path` ends in .pth (weights stored as
// `pth_dtype`, F32 or BF16; an existing config.json keeps its other keys), else as safetensors.
void WriteGateFile(const GateFile& file, const std::string& path, DType pth_dtype = DType::kF32);

}  // namespace seer
