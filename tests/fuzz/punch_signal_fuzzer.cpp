// libFuzzer target: a hole-punching signal (OFFER, ANSWER, SYNC, CANCEL)
// forwarded by a mutual peer. The fuzzer cannot forge the signature, so it
// runs the parser twice: on the raw input (the signature check must refuse
// it cleanly) and on the input re-signed by a fixed identity, which
// reaches the field parser. Invariants: no crash; what decodes is within
// the bounds, and encoding it again decodes to the same signal.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "nat/punch/signal.hpp"
#include "tests/fuzz/fixed_identity.hpp"
#include "transports/wire.hpp"

using namespace crust;

namespace {

bool same(const punch_signal& a, const punch_signal& b) {
  return a.kind == b.kind && a.attempt == b.attempt && a.round == b.round
         && a.mapping == b.mapping && a.caps == b.caps
         && (a.kind != signal_kind::offer || a.key == b.key)
         && a.candidates == b.candidates && a.reason == b.reason;
}

void check(const identity& me, const caf::expected<punch_signal>& r) {
  if (!r)
    return;
  if (r->round < 1 || r->round > max_punch_rounds
      || r->candidates.size() > max_signal_candidates
      || r->reason.size() > max_cancel_reason)
    abort();
  for (auto& c : r->candidates)
    if (c.at.port == 0 || c.at.ip.empty())
      abort();
  auto again = encode_signal(me, me.id(), "fuzz", *r);
  auto back = decode_signal(me.id(), me.id(), "fuzz", again.data(),
                            again.size());
  if (!back || !same(*r, *back))
    abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& me = fuzz::fixed_identity();
  check(me, decode_signal(me.id(), me.id(), "fuzz", data, size));
  // Re-sign: the same bytes as the body before the signature.
  std::vector<uint8_t> text{'c', 'r', 'u', 's', 't', '-', 'p', 'u', 'n', 'c',
                            'h', wire::protocol_version, 4, 'f', 'u', 'z',
                            'z'};
  text.insert(text.end(), me.id().bytes.begin(), me.id().bytes.end());
  text.insert(text.end(), me.id().bytes.begin(), me.id().bytes.end());
  text.insert(text.end(), data, data + size);
  auto sig = me.sign(text);
  std::vector<uint8_t> body(data, data + size);
  body.insert(body.end(), sig.begin(), sig.end());
  check(me, decode_signal(me.id(), me.id(), "fuzz", body.data(), body.size()));
  return 0;
}
