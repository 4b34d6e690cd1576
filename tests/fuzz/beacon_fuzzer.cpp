// libFuzzer target: a UDP packet on the beacon port, which anyone on the
// LAN can send. As for PEERS, the input is checked raw (the signature
// must refuse it cleanly) and re-signed by a fixed identity so that the
// parser behind the signature is reached. Invariants: no crash; what
// decodes is within its bounds.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tests/fuzz/fixed_identity.hpp"
#include "discovery/beacon_packet.hpp"

using namespace crust;

namespace {

void check(const caf::expected<beacon_packet>& p) {
  if (p && p->endpoints.size() > beacon_max_endpoints)
    abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint64_t now = 1800000000;
  check(decode_beacon(data, size, "fuzz", now));
  if (size > beacon_max_size)
    return 0;
  std::vector<uint8_t> signed_part(data, data + size);
  auto sig = fuzz::fixed_identity().sign(signed_part);
  signed_part.insert(signed_part.end(), sig.begin(), sig.end());
  check(decode_beacon(signed_part.data(), signed_part.size(), "fuzz", now));
  return 0;
}
