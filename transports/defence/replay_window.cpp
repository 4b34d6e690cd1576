#include "transports/defence/replay_window.hpp"

namespace crust {

bool replay_window::check(uint64_t n) const {
  if (!any_ || n > highest_)
    return true;
  if (highest_ - n >= size)
    return false;
  return (bits_[(n / 64) % words] & (uint64_t{1} << (n % 64))) == 0;
}

void replay_window::commit(uint64_t n) {
  if (!any_ || n > highest_) {
    // Words between the old top and the new one hold counters that are
    // unseen now (or fell out of the window): clear them, at most all.
    auto new_word = n / 64;
    if (!any_ || new_word - highest_ / 64 >= words)
      bits_.fill(0);
    else
      for (auto w = highest_ / 64 + 1; w <= new_word; ++w)
        bits_[w % words] = 0;
    highest_ = n;
    any_ = true;
  }
  bits_[(n / 64) % words] |= uint64_t{1} << (n % 64);
}

} // namespace crust
