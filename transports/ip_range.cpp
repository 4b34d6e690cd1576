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

} // namespace crust
