#include "transports/wire.hpp"

namespace crust::wire {

const char* to_string(close_reason x) {
  switch (x) {
    case close_reason::normal:
      return "shutdown";
    case close_reason::dropped:
      return "dropped";
    case close_reason::duplicate:
      return "duplicate connection";
    case close_reason::timeout:
      return "timeout";
    case close_reason::violation:
      return "protocol violation";
    case close_reason::self:
      return "connected to itself";
    case close_reason::superseded:
      return "superseded by a newer connection";
    case close_reason::refused:
      return "refused";
    case close_reason::moved:
      return "the connection moved to another path";
  }
  return "unknown reason";
}

const char* to_string(forward_refusal x) {
  switch (x) {
    case forward_refusal::not_connected:
      return "the mutual peer is not connected to it";
    case forward_refusal::refused:
      return "the mutual peer does not introduce";
    case forward_refusal::busy:
      return "the mutual peer is busy";
  }
  return "unknown reason";
}

void append_batch_item(std::vector<char>& out, uint8_t flags,
                       const uint8_t* data, size_t size) {
  auto n = size + 1;
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.push_back(static_cast<char>(flags));
  auto d = reinterpret_cast<const char*>(data);
  out.insert(out.end(), d, d + size);
}

bool batch_reader::next(const uint8_t*& body, size_t& size) {
  if (p_ == end_ || malformed_)
    return false;
  if (end_ - p_ < static_cast<ptrdiff_t>(batch_item_header + 1)) {
    malformed_ = true;
    return false;
  }
  size_t n = (size_t{p_[0]} << 8) | p_[1];
  p_ += batch_item_header;
  if (n == 0 || n > static_cast<size_t>(end_ - p_)) {
    malformed_ = true;
    return false;
  }
  body = p_;
  size = n;
  p_ += n;
  return true;
}

std::vector<uint8_t> encode_endpoints(const std::vector<std::string>& endpoints) {
  std::vector<uint8_t> out{0};
  for (auto& text : endpoints) {
    if (out[0] == max_endpoints_entries)
      break;
    if (text.empty() || text.size() > max_endpoint_text)
      continue;
    ++out[0];
    out.push_back(static_cast<uint8_t>(text.size()));
    out.insert(out.end(), text.begin(), text.end());
  }
  return out;
}

std::optional<std::vector<std::string>> decode_endpoints(const uint8_t* body,
                                                         size_t size) {
  if (size == 0 || body[0] == 0 || body[0] > max_endpoints_entries)
    return std::nullopt;
  std::vector<std::string> out;
  size_t at = 1;
  for (size_t i = 0; i < body[0]; ++i) {
    if (at >= size)
      return std::nullopt;
    size_t n = body[at++];
    if (n == 0 || n > max_endpoint_text || n > size - at)
      return std::nullopt;
    out.emplace_back(reinterpret_cast<const char*>(body + at), n);
    at += n;
  }
  if (at != size)
    return std::nullopt;
  return out;
}

} // namespace crust::wire
