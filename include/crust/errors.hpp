// Error codes that crust replies with, as a CAF error category.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace crust {

enum class errc : uint8_t {
  none = 0,
  /// send() to a peer that is connected but not kept (yet).
  not_kept,
  /// send(), keep() or drop() for a peer we have no connection to.
  unknown_peer,
  /// The peer's send queue is full: back off and retry.
  send_queue_full,
  /// The message exceeds crust.max-message-size.
  message_too_large,
  /// A config value is out of range or of the wrong kind.
  invalid_config,
  /// connect() could not reach the target.
  unreachable,
  /// The service is shutting down.
  shutting_down,
};

constexpr caf::atom_value error_category = caf::atom("crust");

std::string to_string(errc x);

caf::error make_error(errc x);
caf::error make_error(errc x, std::string detail);

/// The words an error carries (crust's errors carry a detail text), if any.
std::optional<std::string> error_detail(const caf::error& err);

} // namespace crust
