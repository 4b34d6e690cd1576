#include "transports/outbox.hpp"

#include <algorithm>

#include "transports/frame_decoder.hpp"
#include "transports/wire.hpp"

namespace crust {

outbox::outbox(uint32_t capacity, uint32_t max_message_size)
  : capacity_(capacity), max_message_size_(max_message_size) {
  // nop
}

errc outbox::push(priority prio, std::vector<uint8_t> bytes) {
  if (bytes.size() > max_message_size_)
    return errc::message_too_large;
  if (queued_ + bytes.size() > capacity_)
    return errc::send_queue_full;
  queued_ += bytes.size();
  lanes_[static_cast<size_t>(prio)].messages.emplace_back(std::move(bytes));
  return errc::none;
}

bool outbox::pop_frame(std::vector<char>& out) {
  for (size_t i = 0; i < 2; ++i) {
    auto& ln = lanes_[i];
    if (ln.empty())
      continue;
    auto& msg = ln.messages.front();
    auto n = std::min<size_t>(wire::chunk_size, msg.size() - ln.offset);
    bool last = ln.offset + n == msg.size();
    uint8_t flags = (last ? wire::flag_last : 0)
                    | (i == 1 ? wire::flag_normal : 0);
    auto len = static_cast<uint32_t>(n + 2);
    char hdr[wire::header_size + 1] = {static_cast<char>(len >> 24),
                                       static_cast<char>(len >> 16),
                                       static_cast<char>(len >> 8),
                                       static_cast<char>(len),
                                       static_cast<char>(wire::frame_type::data),
                                       static_cast<char>(flags)};
    out.insert(out.end(), hdr, hdr + sizeof(hdr));
    auto first = msg.data() + ln.offset;
    out.insert(out.end(), first, first + n);
    queued_ -= n;
    if (last) {
      ln.messages.pop_front();
      ln.offset = 0;
    } else {
      ln.offset += n;
    }
    return true;
  }
  return false;
}

} // namespace crust
