// libFuzzer target: any UDP datagram anyone can send to the rudp socket.
// Invariants: no crash; a packet that parses encodes back to exactly the
// bytes it came from (no two readings of one datagram).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "transports/datagram_packet.hpp"

using namespace crust::datagram;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
