#include "transports/ip_range.hpp"

#include <caf/ipv4_address.hpp>
#include <caf/error.hpp>
#include <caf/string_view.hpp>

namespace crust {

std::optional<caf::ip_address> parse_ip_address(const std::string& text) {
  caf::ipv6_address addr;
  if (text.find('\0') != std::string::npos
      || caf::parse(caf::string_view{text}, addr))
    return std::nullopt;
  return addr;
}

std::optional<caf::ip_subnet> parse_ip_range(const std::string& text) {
  auto slash = text.find('/');
  auto addr = parse_ip_address(text.substr(0, slash));
  if (!addr)
    return std::nullopt;
  bool v4 = addr->embeds_v4() && text.find(':') == std::string::npos;
  int max_bits = v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3
        || digits.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    bits = std::stoi(digits);
    if (bits > max_bits)
      return std::nullopt;
  }
  // CAF clears the host bits, so that equal ranges compare equal.
  if (v4)
    return caf::ip_subnet{addr->embedded_v4(), static_cast<uint8_t>(bits)};
  return caf::ip_subnet{*addr, static_cast<uint8_t>(bits)};
}

bool in_range(const caf::ip_subnet& range, const std::string& ip) {
  auto addr = parse_ip_address(ip);
  return addr && range.contains(*addr);
}

bool in_any_range(const std::set<caf::ip_subnet>& ranges,
                  const std::string& ip) {
  if (ranges.empty())
    return false;
  auto addr = parse_ip_address(ip);
  if (!addr)
    return false;
  for (auto& r : ranges)
    if (r.contains(*addr))
      return true;
  return false;
}

std::optional<ip_bytes> to_ip_bytes(const std::string& ip) {
  auto addr = parse_ip_address(ip);
  if (!addr)
    return std::nullopt;
  ip_bytes out;
  if (addr->embeds_v4()) {
    auto v4 = addr->embedded_v4();
    std::copy(v4.bytes().begin(), v4.bytes().end(), out.addr.begin());
  } else {
    out.family = 6;
    std::copy(addr->bytes().begin(), addr->bytes().end(), out.addr.begin());
  }
  return out;
}

std::optional<std::string> from_ip_bytes(uint8_t family, const uint8_t* at) {
  if (family == 4) {
    caf::ipv4_address::array_type b;
    std::copy(at, at + 4, b.begin());
    return caf::to_string(caf::ipv4_address{b});
  }
  if (family != 6)
    return std::nullopt;
  caf::ipv6_address::array_type b;
  std::copy(at, at + 16, b.begin());
  caf::ipv6_address v6{b};
  if (v6.embeds_v4())
    return std::nullopt;
  return to_string(v6); // a friend: found by ADL only
}

} // namespace crust
