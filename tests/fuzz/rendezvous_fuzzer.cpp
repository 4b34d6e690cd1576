// libFuzzer target: a connection info (rendezvous half) the application
// carried from another node (crust::connect_with, crust-node
// connect-info). Every field check runs before the signature's, so the
// raw input reaches them all; the signature then refuses it. The input
// also builds a half (ids, keys, candidates from its bytes) that the fixed
// identity signs, to check that whatever we write reads back the same.
// Invariants: no crash; what verifies is within the bounds; our own
// halves read back exactly.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "nat/punch/rendezvous.hpp"
#include "tests/fuzz/fixed_identity.hpp"
#include "transports/ip_range.hpp"

using namespace crust;

namespace {

struct bytes_in {
  const uint8_t* p;
  size_t left;
  uint8_t next() {
    if (left == 0)
      return 0;
    --left;
    return *p++;
  }
};

rendezvous built_from(bytes_in& in) {
  rendezvous r;
  for (auto& b : r.attempt)
    b = in.next();
  for (auto& b : r.key)
    b = in.next();
  r.mapping = static_cast<nat_mapping>(in.next() % 4);
  r.caps = in.next() & (cap_tcp | cap_udp | cap_birthday);
  auto n = in.next() % (max_signal_candidates + 1);
  for (size_t i = 0; i < n && in.left > 0; ++i) {
    candidate c;
    c.proto = in.next() % 2 ? transport::rudp : transport::tcp;
    c.kind = static_cast<candidate_kind>(in.next() % (max_candidate_kind + 1));
    for (int k = 0; k < 4; ++k)
      c.priority = (c.priority << 8) | in.next();
    uint8_t family = in.next() % 2 ? 6 : 4;
    uint8_t addr[16];
    for (auto& b : addr)
      b = in.next();
    auto ip = from_ip_bytes(family, addr);
    c.at.port = static_cast<uint16_t>((in.next() << 8) | in.next());
    if (!ip || c.at.port == 0)
      continue;
    c.at.ip = *ip;
    r.candidates.push_back(c);
  }
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& me = fuzz::fixed_identity();
  std::string text(reinterpret_cast<const char*>(data), size);
  // A half that verifies (a real one in the corpus) is within the bounds.
  if (auto theirs = decode_rendezvous("fuzz", text))
    if (theirs->candidates.size() > max_signal_candidates
        || (theirs->caps & ~(cap_tcp | cap_udp | cap_birthday)))
      abort();
  bytes_in in{data, size};
  auto r = built_from(in);
  auto back = decode_rendezvous("fuzz", encode_rendezvous(me, "fuzz", r));
  if (!back || back->attempt != r.attempt || back->key != r.key
      || back->candidates != r.candidates || back->caps != r.caps
      || back->mapping != r.mapping || back->peer != me.id())
    abort();
  return 0;
}
