// IP addresses and CIDR ranges as text, read into CAF's types: the
// blacklist's and allow list's ranges (node/admission), and which
// addresses are private (nat/punch/candidates).
//
// A range is CAF's subnet type. CAF embeds IPv4 in IPv6, so an IPv4 range
// also holds the v4-mapped form of its addresses (::ffff:10.1.2.3), which
// is how an IPv4 peer shows on a dual-stack socket. CAF's own subnet
// reader accepts "10.0.0.0/" and "/33", hence ours.
#pragma once

#include <caf/ip_address.hpp>
#include <caf/ip_subnet.hpp>
#include <caf/ipv6_address.hpp>
#include <caf/ipv6_subnet.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

namespace crust {

/// An IPv4 or IPv6 address ("10.1.2.3", "fe80::1"); none for anything
/// else.
std::optional<caf::ip_address> parse_ip_address(const std::string& text);

/// "1.2.3.4" (a range of one), "10.0.0.0/8", "::1", "fe80::/10"; none
/// for anything else.
std::optional<caf::ip_subnet> parse_ip_range(const std::string& text);

/// Whether the address `ip` (text) lies in `range`.
bool in_range(const caf::ip_subnet& range, const std::string& ip);

/// Whether it lies in any of `ranges` (read once).
bool in_any_range(const std::set<caf::ip_subnet>& ranges,
                  const std::string& ip);

/// An address as the wire writes it: family 4 (the first 4 bytes used)
/// or 6 (all 16), IPv4 never in its v4-mapped IPv6 form.
struct ip_bytes {
  uint8_t family = 4;
  std::array<uint8_t, 16> addr{};

  size_t size() const {
    return family == 4 ? 4 : 16;
  }
};

/// The wire form of `ip` (text); none when it is no address.
std::optional<ip_bytes> to_ip_bytes(const std::string& ip);

/// The text of a wire address (`family` 4 or 6, `size()` bytes at `at`);
/// none for another family or an IPv4 address written as IPv6.
std::optional<std::string> from_ip_bytes(uint8_t family, const uint8_t* at);

} // namespace crust
