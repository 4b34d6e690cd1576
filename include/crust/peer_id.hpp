// A peer's identity: its Ed25519 public key, 32 bytes. The Noise handshake
// proves it: the static key a peer authenticates with is derived from it.
#pragma once

#include <array>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <caf/meta/type_name.hpp>

namespace crust {

struct peer_id {
  static constexpr size_t size = 32;
  std::array<uint8_t, size> bytes{};

  /// A fresh id from the system's CSPRNG.
  static peer_id random();

  /// Parses 64 hex digits; anything else yields nullopt.
  static std::optional<peer_id> from_hex(std::string_view hex);

  std::string to_hex() const;

  /// The first 8 hex digits: enough for a person to tell peers apart in logs.
  std::string short_hex() const;

  friend bool operator==(const peer_id& a, const peer_id& b) {
    return a.bytes == b.bytes;
  }
  friend bool operator!=(const peer_id& a, const peer_id& b) {
    return !(a == b);
  }
  friend bool operator<(const peer_id& a, const peer_id& b) {
    return a.bytes < b.bytes;
  }
};

std::string to_string(const peer_id& x);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, peer_id& x) {
  return f(caf::meta::type_name("crust::peer_id"), x.bytes);
}

} // namespace crust

template <>
struct std::hash<crust::peer_id> {
  size_t operator()(const crust::peer_id& x) const noexcept {
    size_t h;
    static_assert(sizeof(h) <= crust::peer_id::size);
    std::memcpy(&h, x.bytes.data(), sizeof(h));
    return h;
  }
};
