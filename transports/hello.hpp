// The HELLO frame: who is at the other end of a connection.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "crust/peer_id.hpp"

namespace crust {

struct hello {
  uint8_t version = 0;
  peer_id id;
  /// Random per service start: tells a restarted peer from a duplicate
  /// connection of the same run.
  uint64_t session = 0;
};

/// Appends the complete HELLO frame.
void append_hello(std::vector<char>& out, const hello& x);

/// Parses a HELLO body; nullopt when its size is wrong.
std::optional<hello> parse_hello(const uint8_t* body, size_t size);

} // namespace crust
