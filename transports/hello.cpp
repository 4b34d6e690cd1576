#include "transports/hello.hpp"

#include <cstring>

#include "transports/frame_decoder.hpp"
#include "transports/wire.hpp"

namespace crust {

void append_hello(std::vector<char>& out, const hello& x) {
  uint8_t body[wire::hello_size];
  body[0] = x.version;
  std::memcpy(body + 1, x.id.bytes.data(), peer_id::size);
  for (int i = 0; i < 8; ++i)
    body[1 + peer_id::size + i] = static_cast<uint8_t>(x.session >> (56 - 8 * i));
  append_frame(out, wire::frame_type::hello, body, sizeof(body));
}

std::optional<hello> parse_hello(const uint8_t* body, size_t size) {
  if (size != wire::hello_size)
    return std::nullopt;
  hello result;
  result.version = body[0];
  std::memcpy(result.id.bytes.data(), body + 1, peer_id::size);
  for (int i = 0; i < 8; ++i)
    result.session = (result.session << 8) | body[1 + peer_id::size + i];
  return result;
}

} // namespace crust
