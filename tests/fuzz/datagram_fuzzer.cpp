// libFuzzer target: any UDP datagram anyone can send to the rudp socket.
// Invariants: no crash; a packet that parses encodes back to exactly the
// bytes it came from (no two readings of one datagram); a channel with a
// handshake of its own in flight takes it without crashing or answering
// more than one datagram.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tests/fuzz/fixed_identity.hpp"
#include "transports/datagram/channel.hpp"
#include "transports/datagram/packet.hpp"

using namespace crust::datagram;

namespace {

crust::datagram_channel& channel() {
  static auto now = crust::datagram_channel::clock::now();
  static crust::datagram_channel ch{[] {
    crust::datagram_channel::settings s;
    auto& me = crust::fuzz::fixed_identity();
    s.static_key = me.noise_static();
    s.local = crust::hello{me.id(), 1, false};
    s.network_name = "fuzz";
    return s;
  }(), now};
  static bool dialled = false;
  if (!dialled) {
    dialled = true;
    ch.dial(crust::ip_endpoint{"10.0.0.2", 2000}, std::nullopt, false, now);
  }
  return ch;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& ch = channel();
  ch.out().clear();
  ch.receive(crust::ip_endpoint{"10.0.0.2", 2000}, data, size,
             crust::datagram_channel::clock::now());
  ch.flush(crust::datagram_channel::clock::now());
  if (ch.out().size() > 1)
    abort();
  ch.events().clear();
  auto p = parse(data, size);
  if (!p)
    return 0;
  std::vector<uint8_t> again;
  switch (p->what) {
    case kind::init:
      again = encode_init(p->sender, p->body, p->cookie ? &*p->cookie : nullptr);
      break;
    case kind::response:
      again = encode_response(p->sender, p->receiver, p->body);
      break;
    case kind::final:
      again = encode_final(p->receiver, p->body);
      break;
    case kind::cookie:
      again = encode_cookie(p->receiver, *p->cookie);
      break;
    case kind::data:
      again = encode_data_header(p->receiver, p->counter);
      again.insert(again.end(), p->body, p->body + p->body_size);
      break;
  }
  if (again.size() != size || std::memcmp(again.data(), data, size) != 0)
    abort();
  return 0;
}
