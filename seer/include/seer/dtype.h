// Element types of tensors in model files, and their conversion to fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace seer {

enum class DType { kF32, kF16, kBF16, kQ8_0 };

std::string_view DTypeName(DType type);

// Elements per storage block (32 for Q8_0, 1 otherwise) and bytes per block.
std::size_t DTypeBlockElements(DType type);
std::size_t DTypeBlockBytes(DType type);

// Converts `count` elements (a multiple of the block size) stored at `src` to fp32.
void DequantizeToF32(DType type, const std::uint8_t* src, std::size_t count, float* dst);

float F16ToF32(std::uint16_t h);
std::uint16_t F32ToF16(float f);
float BF16ToF32(std::uint16_t h);
std::uint16_t F32ToBF16(float f);  // Round to nearest even.

}  // namespace seer
