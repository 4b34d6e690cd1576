#include "crust/peer_id.hpp"

#include <sodium.h>

#include <stdexcept>

namespace crust {

peer_id peer_id::random() {
  if (sodium_init() < 0)
    throw std::runtime_error("libsodium failed to initialise");
  peer_id result;
  randombytes_buf(result.bytes.data(), result.bytes.size());
  return result;
}

std::optional<peer_id> peer_id::from_hex(std::string_view hex) {
  if (hex.size() != 2 * size)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  peer_id result;
  for (size_t i = 0; i < size; ++i) {
    auto hi = nibble(hex[2 * i]);
    auto lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    result.bytes[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return result;
}

std::string peer_id::to_hex() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string result;
  result.reserve(2 * size);
  for (auto b : bytes) {
    result += digits[b >> 4];
    result += digits[b & 0x0F];
  }
  return result;
}

std::string peer_id::short_hex() const {
  return to_hex().substr(0, 8);
}

std::string to_string(const peer_id& x) {
  return x.to_hex();
}

} // namespace crust
