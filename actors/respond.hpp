// Answers a command only when it came as a request. CAF 0.17 sends a
// handler's return value back even for a plain send, and an application
// that does not expect the `ok` then answers with an error of its own.
#pragma once

#include <caf/error.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>

namespace crust {

inline void respond(caf::local_actor* self, caf::error err) {
  auto elem = self->current_mailbox_element();
  if (elem == nullptr || !elem->mid.is_request())
    return;
  auto rp = self->make_response_promise();
  if (err)
    rp.deliver(std::move(err));
  else
    rp.deliver(caf::ok_atom::value);
}

} // namespace crust
