// libFuzzer target: a PEERS frame body from an authenticated peer. The
// fuzzer cannot forge the signature, so it runs the parser twice: on the
// raw input (the signature check must refuse it cleanly) and on the input
// re-signed by a fixed identity, which reaches the entry parser.
// Invariants: no crash; what decodes holds at most 16 dialable entries.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "tests/fuzz/fixed_identity.hpp"
#include "discovery/peer_exchange.hpp"
#include "transports/wire.hpp"

using namespace crust;

namespace {

void check(const caf::expected<std::vector<exchange_entry>>& r) {
  if (!r)
    return;
  if (r->size() > wire::max_exchange_entries)
    abort();
  for (auto& e : *r)
    if (e.at.pinned || e.at.host.empty())
      abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& me = fuzz::fixed_identity();
  check(decode_peers(me.id(), "fuzz", data, size));
  // Re-sign: the same bytes as the body before the signature.
  std::vector<uint8_t> text{'c', 'r', 'u', 's', 't', '-', 'p', 'e', 'e', 'r', 's',
                            wire::protocol_version, 4, 'f', 'u', 'z', 'z'};
  text.insert(text.end(), me.id().bytes.begin(), me.id().bytes.end());
  text.insert(text.end(), data, data + size);
  auto sig = me.sign(text);
  std::vector<uint8_t> body(data, data + size);
  body.insert(body.end(), sig.begin(), sig.end());
  check(decode_peers(me.id(), "fuzz", body.data(), body.size()));
  return 0;
}
