// Peer ids whose order the tests choose, for the lower-id-leads rule.
#pragma once

#include <cstdint>

#include "crust/peer_id.hpp"

namespace crust::test {

/// An id of 32 equal bytes.
inline peer_id filled_id(uint8_t b) {
  peer_id id;
  id.bytes.fill(b);
  return id;
}

} // namespace crust::test
