#include "transports/frame_decoder.hpp"

#include <cstring>

namespace crust {

namespace {

bool known_type(uint8_t t) {
  return t >= static_cast<uint8_t>(wire::frame_type::hello)
         && t <= static_cast<uint8_t>(wire::frame_type::close);
}

} // namespace

frame_decoder::frame_decoder(uint32_t max_frame_size)
  : max_frame_size_(max_frame_size) {
  // nop
}

void frame_decoder::feed(const void* data, size_t size) {
  if (broken_)
    return;
  // Drop what earlier frames consumed, so the buffer stays bounded.
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  auto bytes = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), bytes, bytes + size);
}

frame_decoder::status frame_decoder::next(frame_view& out) {
  if (broken_)
    return status::violation;
  auto avail = buf_.size() - pos_;
  if (avail < wire::length_size)
    return status::need_more;
  auto p = buf_.data() + pos_;
  uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
                 | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  // Judge the length before buffering a single byte of the body.
  if (len == 0)
    return fail(misbehaviour::protocol_violation, "frame of length 0");
  if (len > max_frame_size_)
    return fail(misbehaviour::oversize,
                "frame of " + std::to_string(len) + " bytes, maximum is "
                  + std::to_string(max_frame_size_));
  if (avail < wire::length_size + 1)
    return status::need_more;
  if (!known_type(p[4]))
    return fail(misbehaviour::protocol_violation,
                "unknown frame type " + std::to_string(p[4]));
  if (avail < wire::length_size + len)
    return status::need_more;
  out.type = static_cast<wire::frame_type>(p[4]);
  out.body = p + wire::header_size;
  out.size = len - 1;
  pos_ += wire::length_size + len;
  return status::frame;
}

frame_decoder::status frame_decoder::fail(misbehaviour kind,
                                          std::string detail) {
  broken_ = true;
  kind_ = kind;
  detail_ = std::move(detail);
  buf_.clear();
  buf_.shrink_to_fit();
  pos_ = 0;
  return status::violation;
}

void append_frame(std::vector<char>& out, wire::frame_type type,
                  const void* body, size_t size) {
  auto len = static_cast<uint32_t>(size + 1);
  char hdr[wire::header_size] = {static_cast<char>(len >> 24),
                                 static_cast<char>(len >> 16),
                                 static_cast<char>(len >> 8),
                                 static_cast<char>(len),
                                 static_cast<char>(type)};
  out.insert(out.end(), hdr, hdr + sizeof(hdr));
  auto bytes = static_cast<const char*>(body);
  if (size > 0)
    out.insert(out.end(), bytes, bytes + size);
}

} // namespace crust
