#include "transports/wire.hpp"

namespace crust::wire {

const char* to_string(close_reason x) {
  switch (x) {
    case close_reason::normal:
      return "shutdown";
    case close_reason::dropped:
      return "dropped";
    case close_reason::duplicate:
      return "duplicate connection";
    case close_reason::timeout:
      return "timeout";
    case close_reason::violation:
      return "protocol violation";
    case close_reason::self:
      return "connected to itself";
    case close_reason::superseded:
      return "superseded by a newer connection";
    case close_reason::refused:
      return "refused";
  }
  return "unknown reason";
}

} // namespace crust::wire
