#include "transports/outbox.hpp"

#include <algorithm>

#include "transports/wire.hpp"

namespace crust {

outbox::outbox(uint32_t capacity, uint32_t max_message_size)
  : capacity_(capacity), max_message_size_(max_message_size) {
  // nop
}

errc outbox::push(priority prio, std::vector<uint8_t>&& bytes, uint32_t tag) {
  if (bytes.size() > max_message_size_)
    return errc::message_too_large;
  if (queued_ + bytes.size() > capacity_)
    return errc::send_queue_full;
  queued_ += bytes.size();
  lanes_[static_cast<size_t>(prio)].messages.push_back(
    {std::move(bytes), tag, false});
  return errc::none;
}

const outbox::lane* outbox::first_busy() const {
  for (auto& ln : lanes_)
    if (!ln.empty())
      return &ln;
  return nullptr;
}

bool outbox::peek(chunk_view& out) const {
  auto ln = first_busy();
  if (ln == nullptr)
    return false;
  auto& msg = ln->messages.front().bytes;
  auto n = std::min<size_t>(wire::chunk_size, msg.size() - ln->offset);
  bool last = ln->offset + n == msg.size();
  out.flags = static_cast<uint8_t>((last ? wire::flag_last : 0)
                                   | (ln == &lanes_[1] ? wire::flag_normal : 0));
  out.data = msg.data() + ln->offset;
  out.size = n;
  out.tag = ln->messages.front().tag;
  return true;
}

void outbox::push_moved(priority prio, std::vector<uint8_t>&& bytes) {
  moved_ += bytes.size();
  lanes_[static_cast<size_t>(prio)].messages.push_back(
    {std::move(bytes), 0, true});
}

std::array<std::deque<std::vector<uint8_t>>, 2> outbox::take_all() {
  std::array<std::deque<std::vector<uint8_t>>, 2> out;
  for (size_t l = 0; l < 2; ++l) {
    for (auto& e : lanes_[l].messages)
      out[l].push_back(std::move(e.bytes));
    lanes_[l].messages.clear();
    lanes_[l].offset = 0;
  }
  queued_ = 0;
  moved_ = 0;
  return out;
}

void outbox::pop(std::vector<uint8_t>* finished) {
  auto ln = const_cast<lane*>(first_busy());
  if (ln == nullptr)
    return;
  auto& msg = ln->messages.front().bytes;
  auto n = std::min<size_t>(wire::chunk_size, msg.size() - ln->offset);
  (ln->messages.front().moved ? moved_ : queued_) -= n;
  if (ln->offset + n == msg.size()) {
    if (finished != nullptr)
      *finished = std::move(msg);
    ln->messages.pop_front();
    ln->offset = 0;
  } else {
    ln->offset += n;
  }
}

} // namespace crust
