// libFuzzer target: a UDP datagram that looks like a STUN response, which
// anyone who can reach our socket may send. The transaction id is taken
// from the input itself so that the parser behind the id check is reached;
// then the same bytes, given the id of a live request, go through the NAT
// probe (nat/nat_probe) that the address discovery actor runs.
// Invariants: no crash; a parsed address is a printable IPv4 or IPv6 one;
// the probe's verdict is one of its documented words.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "nat/nat_probe.hpp"
#include "nat/stun.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace crust::stun;
  if (auto id = response_id(data, size)) {
    auto a = parse_binding_response(data, size, *id);
    if (a && (a->ip.empty() || a->ip.size() > 45))
      abort();
  }
  if (size < header_size)
    return 0;
  nat_probe probe{{{"198.18.0.100", 3478}}, std::chrono::milliseconds(100), 2};
  auto now = nat_probe::clock::time_point{} + std::chrono::seconds(1);
  nat_probe::clock::time_point deadline;
  // Two rounds: the answer to the first request may start RFC 5780's.
  for (int round = 0; round < 2; ++round) {
    auto out = probe.poll(now, deadline);
    for (auto& d : out) {
      std::vector<uint8_t> bytes(data, data + size);
      std::copy(d.bytes.begin() + 8, d.bytes.begin() + 20, bytes.begin() + 8);
      probe.on_datagram(bytes.data(), bytes.size(), d.to, now);
    }
    now = deadline;
  }
  static const std::set<std::string> types{
    "open", "full-cone", "restricted-cone", "port-restricted", "cone",
    "symmetric", "udp-blocked", "unknown"};
  if (!types.count(probe.report({}).nat_type))
    abort();
  return 0;
}
