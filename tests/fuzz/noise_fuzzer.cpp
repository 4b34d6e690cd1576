// libFuzzer target: Noise XX handshake messages from a peer, in both roles.
// Invariants: a message that fails leaves the handshake failed for good,
// and nothing a peer sends finishes a handshake without its keys.
#include <cstdint>
#include <cstdlib>

#include "transports/noise/handshake.hpp"

using namespace crust::noise;

namespace {

const keypair& our_static() {
  static const keypair kp = keypair::generate();
  return kp;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  bool as_responder = data[0] & 1;
  ++data;
  --size;
  auto pat = find_pattern("XX");
  handshake_state hs{{pat, !as_responder, {'c'}, our_static(), {}, {}}};
  std::vector<uint8_t> out, payload;
  if (!as_responder && !hs.write_message(nullptr, 0, out))
    abort(); // the initiator speaks first
  // The input, split at a byte boundary, is up to two messages from the peer.
  size_t first = size / 2;
  const uint8_t* msgs[] = {data, data + first};
  size_t lens[] = {first, size - first};
  for (int i = 0; i < 2 && !hs.finished(); ++i) {
    if (hs.my_turn()) {
      out.clear();
      // Writing fails when the peer's ephemeral was a low-order point.
      if (!hs.write_message(nullptr, 0, out)) {
        if (!hs.failed())
          abort();
        return 0;
      }
    }
    if (!hs.read_message(msgs[i], lens[i], payload)) {
      if (!hs.failed())
        abort();
      std::vector<uint8_t> again;
      if (hs.read_message(msgs[i], lens[i], again) || hs.write_message(nullptr, 0, again))
        abort(); // a failed handshake must stay failed
      return 0;
    }
  }
  if (hs.finished() && !hs.remote_static())
    abort();
  return 0;
}
