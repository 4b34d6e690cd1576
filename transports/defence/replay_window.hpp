// Which packet counters a datagram receiver has already accepted: UDP
// reorders and duplicates, and an attacker replays, so every sealed
// datagram carries a counter and is opened at most once (RFC 6479's
// sliding bitmap, as WireGuard keeps it). Check before decrypting (cheap
// refusal), commit only after the AEAD tag verified (a forged counter
// must not move the window).
#pragma once

#include <array>
#include <cstdint>

namespace crust {

class replay_window {
public:
  /// Counters this far below the highest accepted one are still accepted
  /// once; older ones are refused.
  static constexpr uint64_t size = 2048 - 64;

  /// Whether `n` may be accepted (new, and not too old).
  bool check(uint64_t n) const;

  /// Records `n` as accepted; `check(n)` must have said yes.
  void commit(uint64_t n);

  /// The highest counter accepted so far (0 before any).
  uint64_t highest() const {
    return highest_;
  }

private:
  static constexpr uint64_t words = 2048 / 64;
  std::array<uint64_t, words> bits_{};
  uint64_t highest_ = 0;
  bool any_ = false;
};

} // namespace crust
