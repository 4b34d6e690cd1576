// How a connection broker drives its CAF scribe: reading one chunk per
// activity token, and letting the socket go. Both work around CAF 0.17:
//
// - halt() does not end the read loop it is called from (up to 50 more
//   reads would be decrypted), so reading is paced with tokens instead;
// - the multiplexer squashes the socket registrations queued during one
//   loop iteration: a read registration added and removed in the same
//   iteration vanishes without removed_from_loop(), which leaves the stream
//   holding itself (its descriptor is never closed), and a removal followed
//   by an add leaves the socket unregistered (reading never resumes). So
//   reading is re-armed outside a read, and the socket let go, only from a
//   timer `settle` after the change it follows: by then that iteration has
//   ended.
#pragma once

#include <caf/io/abstract_broker.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/timespan.hpp>

#include <chrono>

namespace crust {

class scribe_control {
public:
  static constexpr auto settle = std::chrono::milliseconds(10);

  /// How long a closing connection waits for its last bytes to be written.
  static constexpr auto linger = std::chrono::seconds(1);

  scribe_control(caf::io::abstract_broker* self, caf::io::connection_handle hdl)
    : self_(self), hdl_(hdl) {
    // nop
  }

  /// Reads at most `small` bytes at a time until a read fills that, then
  /// at most `large`: CAF keeps a buffer of the read size per connection
  /// and never shrinks it, so an idle connection stays small while a busy
  /// one reads in large chunks. Reading starts with the first arm().
  void configure(size_t small, size_t large);

  /// Allows one more read unless one is allowed already. Call it from a
  /// read, right after configure(), or from a timer (see `settle`).
  void arm();

  /// Every read uses the token: call first thing on new data (`bytes`
  /// of it).
  void consumed(size_t bytes);

  /// Sends `finish` to the broker once it may let the socket go: after
  /// `settle`, or `linger` while writes are pending (the broker may call
  /// release() sooner, when they are done). Never release from a read: a
  /// scribe reading with tokens touches itself after the handler returns.
  template <class Atom>
  void close_later(bool writes_pending, Atom finish);

  /// Closes the socket and quits the broker; idempotent. Unread bytes in
  /// the socket (a flooder's, or a handshake never read) would otherwise
  /// keep CAF from closing its descriptor once the broker is gone.
  void release();

private:
  // False on CAF's test multiplexer: its handles are not descriptors and
  // its registrations are not squashed.
  bool real_sockets() const;

  caf::io::abstract_broker* self_;
  caf::io::connection_handle hdl_;
  bool armed_ = false;
  bool released_ = false;
  size_t read_size_ = 0;
  size_t large_ = 0;
};

} // namespace crust

#include "actors/timer.hpp"

namespace crust {

template <class Atom>
void scribe_control::close_later(bool writes_pending, Atom finish) {
  if (!real_sockets()) // nothing to settle
    caf::anon_send(caf::actor_cast<caf::actor>(self_), finish);
  else
    set_timer(self_, writes_pending ? caf::timespan{linger}
                                    : caf::timespan{settle},
              finish);
}

} // namespace crust
