// libFuzzer target: a UDP datagram that looks like a STUN response, which
// anyone who can reach our socket may send. The transaction id is taken
// from the input itself so that the parser behind the id check is reached.
// Invariants: no crash; a parsed address is a printable IPv4 or IPv6 one.
#include <cstdint>
#include <cstdlib>

#include "nat/stun.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crust::stun;
  auto id = response_id(data, size);
  if (!id)
    return 0;
  auto a = parse_binding_response(data, size, *id);
  if (a && (a->ip.empty() || a->ip.size() > 45))
    abort();
  return 0;
}
