#include "transports/ip_endpoint.hpp"

namespace crust {

std::string to_string(const ip_endpoint& x) {
  if (x.v6())
    return "[" + x.ip + "]:" + std::to_string(x.port);
  return x.ip + ":" + std::to_string(x.port);
}

} // namespace crust
