#include "seer/gate_file.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/mapped_file.h"
#include "seer/pth.h"
#include "seer/safetensors.h"

namespace seer {
namespace {

using common::FormatError;
using common::Throw;
using Json = nlohmann::json;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string ConfigPathBeside(const std::string& path) {
  return (std::filesystem::path(path).parent_path() / "config.json").string();
}

// The reference's selection keys <-> SelectionOptions. last_block_dense keeps the last 2
// query-block rows dense, as the reference does.
constexpr int kLastBlockDenseRows = 2;

void SelectionToJson(const SelectionOptions& s, Json& j) {
  j["seerattn_sparsity_method"] =
      s.method == SelectionOptions::Method::kThreshold ? "threshold" : "nz_ratio";
  j["seerattn_threshold"] = s.threshold;
  j["seerattn_nz_ratio"] = s.density;
  j["seerattn_last_block_dense"] = s.dense_last_rows > 0;
}

std::optional<SelectionOptions> SelectionFromJson(const Json& j) {
  if (!j.contains("seerattn_sparsity_method")) return std::nullopt;
  SelectionOptions s;
  const std::string method = j["seerattn_sparsity_method"].get<std::string>();
  if (method == "threshold")
    s.method = SelectionOptions::Method::kThreshold;
  else if (method == "nz_ratio")
    s.method = SelectionOptions::Method::kDensity;
  else
    Throw<FormatError>("seerattn_sparsity_method '{}' is not threshold or nz_ratio", method);
  s.threshold = j.value("seerattn_threshold", s.threshold);
  s.density = j.value("seerattn_nz_ratio", s.density);
  s.dense_last_rows = j.value("seerattn_last_block_dense", false) ? kLastBlockDenseRows : 0;
  return s;
}

// The gate configuration as config.json keys (reference names where the reference has them).
Json ConfigToJson(const GateConfig& c) {
  return {{"seerattn_gate_type", c.TypeName()},
          {"seerattn_gate_block_size", c.block_size},
          {"seerattn_gate_hidden_size", c.d_gate},
          {"seerattn_gate_force_double", c.force_double},
          {"num_hidden_layers", c.n_layers},
          {"num_attention_heads", c.q_heads},
          {"num_key_value_heads", c.kv_heads},
          {"head_dim", c.head_dim},
          {"rope_theta", c.rope_theta},
          {"_name_or_path", c.model_name}};
}

GateConfig ConfigFromJson(const Json& j, const std::string& where) {
  try {
    GateConfig c;
    c.SetType(j.value("seerattn_gate_type", std::string("Qavg_Kmaxminavg")));
    c.block_size = j.value("seerattn_gate_block_size", 64);
    c.d_gate = j.value("seerattn_gate_hidden_size", 128);
    c.force_double = j.value("seerattn_gate_force_double", false);
    c.n_layers = j.at("num_hidden_layers").get<int>();
    c.q_heads = j.at("num_attention_heads").get<int>();
    c.kv_heads = j.value("num_key_value_heads", c.q_heads);
    c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null()
                     ? j["head_dim"].get<int>()
                     : j.at("hidden_size").get<int>() / c.q_heads;
    c.rope_theta = j.value("rope_theta", 10000.0f);
    c.model_name = j.value("_name_or_path", std::string());
    c.Validate();
    return c;
  } catch (const Json::exception& e) {
    Throw<FormatError>("'{}': {}", where, e.what());
  } catch (const common::InvalidArgument& e) {
    Throw<FormatError>("'{}': {}", where, e.what());
  }
}

// Fills `gates.layers` from named tensors via `find(name) -> vector<float>*` (nullptr if absent).
template <class Find>
void FillLayers(Gates& gates, const std::string& path, Find find) {
  const GateConfig& c = gates.config;
  gates.layers.resize(static_cast<std::size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    for (bool q : {false, true}) {
      if (q && !c.HasQLinear()) continue;
      const std::string name = GateTensorName(l, q);
      std::vector<float>* values = find(name);
      if (values == nullptr) Throw<FormatError>("'{}': gate tensor '{}' is missing", path, name);
      (q ? gates.layers[l].wq : gates.layers[l].wk) = std::move(*values);
    }
  }
  try {
    gates.Validate();
  } catch (const common::Error& e) {
    Throw<FormatError>("'{}': {}", path, e.what());
  }
}

GateFile ReadPth(const std::string& path) {
  const std::string config_path = ConfigPathBeside(path);
  if (!std::filesystem::exists(config_path)) {
    Throw<common::IoError>("'{}' needs the reference's config.json beside it; looked at '{}'", path,
                           config_path);
  }
  Json config;
  try {
    config = Json::parse(common::ReadFile(config_path));
  } catch (const Json::exception& e) {
    Throw<FormatError>("'{}': not valid JSON: {}", config_path, e.what());
  }
  GateFile file;
  file.gates.config = ConfigFromJson(config, config_path);
  file.recommended = SelectionFromJson(config);
  auto tensors = ReadPthStateDict(path);
  std::map<std::string, std::vector<float>> by_name;
  for (auto& t : tensors) by_name[t.name] = std::move(t.values);
  FillLayers(file.gates, path, [&](const std::string& name) {
    auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &it->second;
  });
  return file;
}

GateFile ReadSafetensors(const std::string& path) {
  SafetensorsFile st(path);
  Json meta = Json::object();
  for (const auto& [key, value] : st.metadata()) {
    // Numbers and booleans were stored as JSON text; strings as they are.
    try {
      meta[key] = Json::parse(value);
    } catch (const Json::exception&) {
      meta[key] = value;
    }
  }
  if (!meta.contains("seerattn_gate_type")) {
    Throw<FormatError>("'{}' is a safetensors file without gate metadata (seerattn_gate_type)",
                       path);
  }
  GateFile file;
  file.gates.config = ConfigFromJson(meta, path);
  file.recommended = SelectionFromJson(meta);
  std::vector<float> scratch;
  FillLayers(file.gates, path, [&](const std::string& name) -> std::vector<float>* {
    const SafetensorsTensor* t = st.Find(name);
    if (t == nullptr) return nullptr;
    scratch = st.ReadF32(*t);
    return &scratch;
  });
  return file;
}

}  // namespace

std::string GateTensorName(int layer, bool q_linear) {
  return "model.layers." + std::to_string(layer) + ".self_attn.attn_gate.mask_linear_" +
         (q_linear ? "q" : "k") + ".weight";
}

GateFile ReadGateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Throw<common::IoError>("cannot open gate file '{}'", path);
  char magic[2] = {};
  in.read(magic, 2);
  return magic[0] == 'P' && magic[1] == 'K' ? ReadPth(path) : ReadSafetensors(path);
}

void WriteGateFile(const GateFile& file, const std::string& path, DType pth_dtype) {
  const GateConfig& c = file.gates.config;
  file.gates.Validate();
  auto shape = [&](bool q) {
    return std::vector<std::uint64_t>{static_cast<std::uint64_t>(q ? c.q_heads : c.KLinearHeads()),
                                      static_cast<std::uint64_t>(q ? c.QInputs() : c.KInputs()),
                                      static_cast<std::uint64_t>(c.d_gate)};
  };
  Json keys = ConfigToJson(c);
  if (file.recommended) SelectionToJson(*file.recommended, keys);

  if (!EndsWith(path, ".pth")) {
    std::map<std::string, std::string> metadata;
    for (const auto& [key, value] : keys.items())
      metadata[key] = value.is_string() ? value.get<std::string>() : value.dump();
    std::vector<SafetensorsOutput> tensors;
    for (int l = 0; l < c.n_layers; ++l) {
      tensors.push_back({GateTensorName(l, false), shape(false), file.gates.layers[l].wk.data()});
      if (c.HasQLinear())
        tensors.push_back({GateTensorName(l, true), shape(true), file.gates.layers[l].wq.data()});
    }
    WriteSafetensors(path, metadata, tensors);
    return;
  }

  std::vector<PthTensor> tensors;
  for (int l = 0; l < c.n_layers; ++l) {
    for (bool q : {false, true}) {
      if (q && !c.HasQLinear()) continue;
      const auto s = shape(q);
      tensors.push_back({GateTensorName(l, q),
                         pth_dtype,
                         {static_cast<std::int64_t>(s[0]), static_cast<std::int64_t>(s[1]),
                          static_cast<std::int64_t>(s[2])},
                         q ? file.gates.layers[l].wq : file.gates.layers[l].wk});
    }
  }
  WritePthStateDict(path, tensors);
  const std::string config_path = ConfigPathBeside(path);
  Json config = Json::object();
  if (std::filesystem::exists(config_path)) {
    try {
      config = Json::parse(common::ReadFile(config_path));
    } catch (const Json::exception& e) {
      Throw<FormatError>("'{}' exists but is not valid JSON ({}); not overwriting it", config_path,
                         e.what());
    }
  }
  config.update(keys);
  common::WriteFileAtomically(config_path, config.dump(2) + "\n");
}

}  // namespace seer
