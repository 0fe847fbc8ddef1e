#include "seer/dtype.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace seer {

std::string_view DTypeName(DType type) {
  switch (type) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kQ8_0:
      return "Q8_0";
  }
  return "?";
}

std::size_t DTypeBlockElements(DType type) { return type == DType::kQ8_0 ? 32 : 1; }

std::size_t DTypeBlockBytes(DType type) {
  switch (type) {
    case DType::kF32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kQ8_0:
      return 34;  // fp16 scale + 32 int8 values.
  }
  return 0;
}

float F16ToF32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: value = mant * 2^-24.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  const std::uint32_t bits = exp == 0x1f ? (sign | 0x7f800000u | (mant << 13))
                                         : (sign | ((exp + 112) << 23) | (mant << 13));
  return std::bit_cast<float>(bits);
}

std::uint16_t F32ToF16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const float a = std::fabs(f);
  if (std::isnan(f)) return sign | 0x7e00u;
  if (a >= 65520.0f) return sign | 0x7c00u;
  if (a < 6.103515625e-05f) {  // Subnormal range: round to a multiple of 2^-24.
    return sign | static_cast<std::uint16_t>(std::nearbyint(a * 16777216.0f));
  }
  const std::uint32_t ax = x & 0x7fffffffu;
  const std::uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);  // Round to nearest even.
  return sign | static_cast<std::uint16_t>((rounded >> 13) - (112u << 10));
}

float BF16ToF32(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

std::uint16_t F32ToBF16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void DequantizeToF32(DType type, const std::uint8_t* src, std::size_t count, float* dst) {
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case DType::kF16:
    case DType::kBF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = type == DType::kF16 ? F16ToF32(h) : BF16ToF32(h);
      }
      return;
    case DType::kQ8_0:
      for (std::size_t b = 0; b < count / 32; ++b) {
        const std::uint8_t* block = src + 34 * b;
        std::uint16_t h;
        std::memcpy(&h, block, 2);
        const float scale = F16ToF32(h);
        for (int i = 0; i < 32; ++i) {
          dst[32 * b + i] = scale * static_cast<float>(static_cast<std::int8_t>(block[2 + i]));
        }
      }
      return;
  }
}

}  // namespace seer
