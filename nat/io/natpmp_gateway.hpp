// The default gateway's NAT-PMP service (RFC 6886; PCP servers answer it
// too), through libnatpmp: its external address, and port mappings.
// Blocking, each call bounded by its timeout (libnatpmp alone would retry
// for about two minutes): only a detached actor uses it.
#pragma once

#include <caf/expected.hpp>

#define ENABLE_STRNATPMPERR
#include <natpmp.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace crust::nat {

class natpmp_gateway {
public:
  struct granted {
    uint16_t external_port = 0;
    uint32_t lease = 0;
  };

  /// Opens a socket towards the default gateway.
  static caf::expected<natpmp_gateway> open();

  natpmp_gateway(natpmp_gateway&& other) noexcept;
  natpmp_gateway& operator=(natpmp_gateway&&) = delete;
  ~natpmp_gateway();

  /// The gateway's address, for a person.
  std::string gateway() const;

  caf::expected<std::string> external_ip(std::chrono::milliseconds timeout);

  /// Asks for `port` outside to reach `port` here; the gateway may grant
  /// another external port and a shorter lease. "tcp" or "udp".
  caf::expected<granted> map(const std::string& protocol, uint16_t port,
                             uint32_t lease, std::chrono::milliseconds timeout);

  caf::error unmap(const std::string& protocol, uint16_t port,
                   std::chrono::milliseconds timeout);

private:
  natpmp_gateway() = default;
  caf::expected<natpmpresp_t> await(const std::string& what,
                                    std::chrono::milliseconds timeout);
  natpmp_t p_{};
  bool open_ = false;
};

} // namespace crust::nat
