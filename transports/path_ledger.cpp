#include "transports/path_ledger.hpp"

#include <algorithm>

namespace crust {

path_ledger::path_ledger(const handover& h)
  : confirmed_(h.first), next_(h.first), delivered_(h.delivered) {
  // What we delivered was confirmed on the old path, or will be here:
  // the peer resends from its own count and waits for our ACK to let go,
  // so the first tick confirms it.
  acked_ = {0, 0};
  // The messages handed over keep their numbers: the peer may confirm
  // some of them before they go again (it delivered them on the old
  // path, whose ACK was lost with it).
  for (size_t l = 0; l < 2; ++l)
    numbered_[l] = h.first[l] + h.out[l].size();
}

void path_ledger::sent(uint8_t lane, std::vector<uint8_t>&& msg) {
  lane &= 1;
  if (next_[lane]++ < confirmed_[lane])
    return; // confirmed before it went again: nothing to keep
  unconfirmed_bytes_ += msg.size();
  kept_[lane].push_back(std::move(msg));
}

bool path_ledger::confirm(const counts& upto) {
  for (size_t l = 0; l < 2; ++l)
    if (upto[l] > std::max(next_[l], numbered_[l]))
      return false;
  for (size_t l = 0; l < 2; ++l) {
    while (confirmed_[l] < upto[l]) {
      if (confirmed_[l] < next_[l]) { // kept: it went on this path
        unconfirmed_bytes_ -= kept_[l].front().size();
        kept_[l].pop_front();
      }
      ++confirmed_[l];
    }
  }
  return true;
}

bool path_ledger::resume(const counts& first) {
  for (size_t l = 0; l < 2; ++l)
    if (first[l] > delivered_[l])
      return false;
  for (size_t l = 0; l < 2; ++l)
    skip_[l] = delivered_[l] - first[l];
  return true;
}

bool path_ledger::received(uint8_t lane, size_t size) {
  lane &= 1;
  if (skip_[lane] > 0) {
    --skip_[lane];
    return false;
  }
  ++delivered_[lane];
  bytes_since_ack_ += size;
  return true;
}

bool path_ledger::ack_due() const {
  return bytes_since_ack_ >= ack_every_bytes
         || (delivered_[0] - acked_[0]) + (delivered_[1] - acked_[1])
              >= ack_every_messages;
}

path_ledger::counts path_ledger::take_ack() {
  acked_ = delivered_;
  bytes_since_ack_ = 0;
  return delivered_;
}

path_ledger::handover
path_ledger::leave(std::array<std::deque<std::vector<uint8_t>>, 2> unsent) {
  handover h;
  h.first = confirmed_;
  h.delivered = delivered_;
  for (size_t l = 0; l < 2; ++l) {
    h.out[l] = std::move(kept_[l]);
    // Handed-over messages confirmed before they went again are done.
    for (auto n = next_[l]; n < confirmed_[l] && !unsent[l].empty(); ++n)
      unsent[l].pop_front();
    for (auto& m : unsent[l])
      h.out[l].push_back(std::move(m));
  }
  kept_ = {};
  unconfirmed_bytes_ = 0;
  return h;
}

} // namespace crust
