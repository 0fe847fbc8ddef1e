// The per-format loaders behind seer::LoadModel.
#pragma once

#include <memory>
#include <string>

#include "seer/model.h"

namespace seer {

std::unique_ptr<Model> LoadGgufModel(const std::string& path);
std::unique_ptr<Model> LoadLlama2cModel(const std::string& path, const std::string& tokenizer_path);

}  // namespace seer
