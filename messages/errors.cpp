#include "crust/errors.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace crust {

std::string to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::not_kept:
      return "not_kept";
    case errc::unknown_peer:
      return "unknown_peer";
    case errc::send_queue_full:
      return "send_queue_full";
    case errc::message_too_large:
      return "message_too_large";
    case errc::invalid_config:
      return "invalid_config";
    case errc::unreachable:
      return "unreachable";
    case errc::shutting_down:
      return "shutting_down";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return caf::error{static_cast<uint8_t>(x), error_category};
}

caf::error make_error(errc x, std::string detail) {
  return caf::error{static_cast<uint8_t>(x), error_category,
                    caf::make_message(std::move(detail))};
}

std::optional<std::string> error_detail(const caf::error& err) {
  if (err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return std::nullopt;
}

} // namespace crust
