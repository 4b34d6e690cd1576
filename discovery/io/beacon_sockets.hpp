// The beacon's sockets: UDP on crust.beacon-port over IPv4 (broadcast to
// each interface the node listens on, or to crust.beacon-targets) and,
// when the node listens everywhere, IPv6 link-local multicast (group
// ff02::6372:7573 on every multicast interface). Non-blocking; owned by
// the beacon actor.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace crust {

struct beacon_datagram {
  std::vector<uint8_t> bytes;
  sockaddr_storage from{};
  /// The IPv4 source, for dialling it; empty for IPv6 (link-local sources
  /// are not dialable: the announced endpoints are).
  std::string from_v4;
};

class beacon_sockets {
public:
  beacon_sockets() = default;
  beacon_sockets(const beacon_sockets&) = delete;
  beacon_sockets& operator=(const beacon_sockets&) = delete;
  ~beacon_sockets();

  /// Opens the sockets; an error text when IPv4 cannot be had (IPv6 is a
  /// bonus: without it the beacon runs on IPv4 alone).
  std::string open(const std::string& bind_address, uint16_t port,
                   std::vector<std::string> targets);

  /// Sends `packet` to every destination.
  void announce(const std::vector<uint8_t>& packet);

  void answer(const std::vector<uint8_t>& packet, const sockaddr_storage& to);

  /// The next datagram waiting on either socket, if any.
  std::optional<beacon_datagram> receive(size_t max_size);

  bool has_v6() const {
    return v6_ >= 0;
  }

private:
  int v4_ = -1;
  int v6_ = -1;
  std::string bind_address_;
  uint16_t port_ = 0;
  std::vector<std::string> targets_;
  std::vector<unsigned> v6_interfaces_;
};

} // namespace crust
