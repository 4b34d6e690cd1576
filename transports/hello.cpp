#include "transports/hello.hpp"

#include <cstring>

#include "transports/bytes.hpp"
#include "transports/identity.hpp"
#include "transports/wire.hpp"

namespace crust {

std::vector<uint8_t> encode_hello(const hello& h) {
  std::vector<uint8_t> out(wire::hello_size);
  std::memcpy(out.data(), h.id.bytes.data(), peer_id::size);
  bytes::store<uint64_t>(out.data() + peer_id::size, h.session);
  out[peer_id::size + 8] = h.bootstrapping ? wire::hello_bootstrapping : 0;
  return out;
}

std::optional<hello> decode_hello(const std::vector<uint8_t>& payload,
                                  std::string& why) {
  if (payload.size() != wire::hello_size) {
    why = "handshake payload of " + std::to_string(payload.size()) + " bytes";
    return std::nullopt;
  }
  hello h;
  std::memcpy(h.id.bytes.data(), payload.data(), peer_id::size);
  h.session = bytes::get<uint64_t>(payload.data() + peer_id::size);
  auto flags = payload[peer_id::size + 8];
  if (flags & ~wire::known_hello_flags) {
    why = "unknown HELLO flags " + std::to_string(flags);
    return std::nullopt;
  }
  h.bootstrapping = (flags & wire::hello_bootstrapping) != 0;
  return h;
}

std::optional<hello> verify_hello(const std::vector<uint8_t>& payload,
                                  const noise::key& remote_static,
                                  const std::optional<peer_id>& expected,
                                  std::string& why) {
  auto h = decode_hello(payload, why);
  if (!h)
    return std::nullopt;
  if (!identity::binds(h->id, remote_static)) {
    why = "the peer's static key does not belong to the peer id it claims";
    return std::nullopt;
  }
  if (expected && *expected != h->id) {
    why = "expected peer " + expected->short_hex() + " but "
          + h->id.short_hex() + " answered";
    return std::nullopt;
  }
  return h;
}

std::vector<uint8_t> prologue(const std::string& network_name) {
  std::vector<uint8_t> out{'c', 'r', 'u', 's', 't', wire::protocol_version};
  out.insert(out.end(), network_name.begin(), network_name.end());
  return out;
}

} // namespace crust
