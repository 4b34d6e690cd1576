#include "actors/connection/secure_stream.hpp"

namespace crust {

secure_channel::settings stream_channel_settings(const connection_setup& s) {
  secure_channel::settings cs;
  cs.initiator = !s.info.inbound;
  cs.static_key = s.static_key;
  cs.local = hello{s.local_id, s.session,
                   s.info.from == origin::bootstrap_out};
  cs.network_name = s.opts.network_name;
  if (s.target)
    cs.expected = s.target->pinned;
  cs.max_record = s.opts.max_frame_size;
  cs.punch = s.punch;
  if (s.punches)
    cs.find_punch = [r = s.punches](const attempt_id& a) { return r->find(a); };
  return cs;
}

} // namespace crust
