#include "actors/connection/scribe_control.hpp"

#include "actors/real_sockets.hpp"

#include "transports/io/tcp_socket.hpp"

namespace crust {

void scribe_control::configure(size_t small, size_t large) {
  read_size_ = small;
  large_ = large;
  self_->configure_read(hdl_, caf::io::receive_policy::at_most(small));
}

void scribe_control::consumed(size_t bytes) {
  armed_ = false;
  if (bytes >= read_size_ && read_size_ < large_) {
    read_size_ = large_;
    self_->configure_read(hdl_, caf::io::receive_policy::at_most(large_));
  }
}

void scribe_control::arm() {
  if (armed_ || released_)
    return;
  armed_ = true;
  self_->trigger(hdl_, 1);
}

void scribe_control::release() {
  if (released_)
    return;
  released_ = true;
  // Only while the scribe is ours: once CAF has closed the descriptor its
  // number may already belong to another connection.
  if (real_sockets() && self_->valid(hdl_))
    tcp_shutdown(static_cast<int>(hdl_.id())); // handle id == fd
  self_->close(hdl_);
  self_->quit();
}

bool scribe_control::real_sockets() const {
  return crust::real_sockets(self_);
}

} // namespace crust
