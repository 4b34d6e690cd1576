#include "transports/inbox.hpp"

#include "transports/wire.hpp"

namespace crust {

inbox::inbox(uint32_t max_message_size) : max_message_size_(max_message_size) {
  // nop
}

inbox::status inbox::on_data(const uint8_t* body, size_t size,
                             std::vector<uint8_t>& out, priority& lane) {
  if (size < 1) {
    kind_ = misbehaviour::protocol_violation;
    detail_ = "DATA frame without flags";
    return status::violation;
  }
  auto flags = body[0];
  if ((flags & ~wire::known_flags) != 0) {
    kind_ = misbehaviour::protocol_violation;
    detail_ = "DATA frame with unknown flags " + std::to_string(flags);
    return status::violation;
  }
  lane = (flags & wire::flag_normal) ? priority::normal : priority::high;
  auto& buf = partial_[static_cast<size_t>(lane)];
  auto chunk = size - 1;
  if (buf.size() + chunk > max_message_size_) {
    kind_ = misbehaviour::oversize;
    detail_ = "message larger than " + std::to_string(max_message_size_)
              + " bytes";
    buf.clear();
    buf.shrink_to_fit();
    return status::violation;
  }
  buf.insert(buf.end(), body + 1, body + size);
  if ((flags & wire::flag_last) == 0)
    return status::incomplete;
  out.swap(buf);
  buf.clear();
  return status::complete;
}

} // namespace crust
