// A UPnP Internet Gateway Device on the LAN, through miniupnpc: find it,
// ask its external address, map and unmap ports. Every call blocks (SSDP
// discovery waits up to its timeout; SOAP calls are HTTP round trips), so
// only a detached actor uses it.
#pragma once

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace crust::nat {

class upnp_igd {
public:
  /// Finds an IGD within `timeout`. An IGD that miniupnpc calls "not
  /// connected" is used too: miniupnpc says so when the IGD's external
  /// address is in a reserved range (a carrier-grade NAT, or the lab's
  /// 198.18.0.0/15), and mapping still works there; if it really is not
  /// connected, mapping fails and says why.
  static caf::expected<upnp_igd> discover(std::chrono::milliseconds timeout);

  upnp_igd(upnp_igd&&) noexcept;
  upnp_igd& operator=(upnp_igd&&) noexcept;
  ~upnp_igd();

  /// Our address on the LAN, as the IGD reaches us.
  const std::string& lan_address() const;

  /// Where the IGD's control point lives, for a person.
  const std::string& control_url() const;

  caf::expected<std::string> external_ip();

  /// Maps `port` (external = internal) to us for `lease` seconds. An IGD
  /// that only grants permanent mappings gets one (0 in the result).
  /// Returns the lease granted.
  caf::expected<uint32_t> add(const std::string& protocol, uint16_t port,
                              uint32_t lease, const std::string& description);

  caf::error remove(const std::string& protocol, uint16_t port);

private:
  struct impl;
  explicit upnp_igd(std::unique_ptr<impl> x);
  std::unique_ptr<impl> impl_;
};

} // namespace crust::nat
