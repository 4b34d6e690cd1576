// Answers a command only when it came as a request. CAF 0.17 sends a
// handler's return value back even for a plain send, and an application
// that does not expect the `ok` then answers with an error of its own.
#pragma once

#include <caf/error.hpp>
#include <caf/local_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>

#include "crust/errors.hpp"
#include "crust/messages.hpp"

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

/// Answers a request with `value` (nothing for a plain send).
template <class T>
void respond_with(caf::local_actor* self, T value) {
  auto elem = self->current_mailbox_element();
  if (elem == nullptr || !elem->mid.is_request())
    return;
  self->make_response_promise().deliver(std::move(value));
}

/// Refuses a `send` with `why`: the error answers a request; a plain send
/// gets its bytes back in send_failed, at its sender or, if it came
/// anonymously, at `handler`. Nothing the application sent is lost unsaid.
inline void refuse_send(caf::local_actor* self, const caf::actor& handler,
                        send& cmd, errc why) {
  auto elem = self->current_mailbox_element();
  if (elem != nullptr && elem->mid.is_request())
    return respond(self, make_error(why));
  auto to = elem != nullptr && elem->sender != nullptr
              ? caf::actor_cast<caf::actor>(elem->sender)
              : handler;
  caf::unsafe_send_as(self, to,
                      send_failed{cmd.peer, std::move(cmd.bytes),
                                  make_error(why)});
}

} // namespace crust
