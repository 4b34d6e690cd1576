// Stateless proof that a datagram's source address is real, for a node
// under load (WireGuard's cookie idea): instead of computing a handshake
// for every initiation, answer with a cookie, a keyed BLAKE2b MAC of the
// source address, and compute handshakes only for initiations that bring
// one back. Spoofed sources never see their cookie, so flooding with them
// costs the node one MAC each and no state. The key changes every two
// minutes; a cookie of the previous key is still good.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace crust {

class cookie_jar {
public:
  using clock = std::chrono::steady_clock;
  using cookie = std::array<uint8_t, 16>;

  static constexpr auto rotation = std::chrono::minutes(2);

  explicit cookie_jar(clock::time_point now);

  /// The cookie for a datagram from `source` ("IP:PORT", as received).
  cookie make(const std::string& source, clock::time_point now);

  /// Whether `c` is the cookie of `source` under the current or the
  /// previous key (constant time).
  bool valid(const std::string& source, const cookie& c, clock::time_point now);

private:
  using key = std::array<uint8_t, 32>;

  void rotate(clock::time_point now);
  static cookie mac(const key& k, const std::string& source);

  key current_;
  key previous_;
  clock::time_point since_;
};

} // namespace crust
