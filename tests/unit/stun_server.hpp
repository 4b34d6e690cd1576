// What a STUN server writes, for tests of crust's STUN client: a Binding
// success response to a request, with XOR-MAPPED-ADDRESS and optionally
// OTHER-ADDRESS (RFC 8489, RFC 5780).
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "transports/ip_endpoint.hpp"

namespace crust::test {

inline void put16(std::vector<uint8_t>& out, uint16_t x) {
  out.push_back(static_cast<uint8_t>(x >> 8));
  out.push_back(static_cast<uint8_t>(x));
}

// An IPv4 address attribute; `mask`: the cookie, for the XOR form.
inline void put_address(std::vector<uint8_t>& out, uint16_t type,
                        const ip_endpoint& a, const uint8_t* mask) {
  put16(out, type);
  put16(out, 8);
  out.push_back(0);
  out.push_back(0x01);
  put16(out, static_cast<uint16_t>(a.port ^ (mask ? 0x2112 : 0)));
  in_addr ip{};
  inet_pton(AF_INET, a.ip.c_str(), &ip);
  auto raw = reinterpret_cast<const uint8_t*>(&ip);
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(raw[i] ^ (mask ? mask[i] : 0)));
}

/// A Binding success response to `request`, as a server would write it.
inline std::vector<uint8_t>
stun_answer(const std::vector<uint8_t>& request, const ip_endpoint& mapped,
            std::optional<ip_endpoint> other = std::nullopt) {
  std::vector<uint8_t> out{0x01, 0x01, 0, 0};
  out.insert(out.end(), request.begin() + 4, request.begin() + 20);
  put_address(out, 0x0020, mapped, request.data() + 4);
  if (other)
    put_address(out, 0x802c, *other, nullptr);
  out[3] = static_cast<uint8_t>(out.size() - 20);
  return out;
}

} // namespace crust::test
