// What the connections that run the secure channel over a byte stream
// share (tcp.cpp over a scribe, relayed.cpp over a circuit): the
// channel's settings, the decode loop from records to the link, and the
// flood gate's verdict applied to the link. The carriers keep what
// differs: where bytes come from and go, and how reading is paced.
#pragma once

#include <caf/timespan.hpp>

#include "actors/connection/connection.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/link.hpp"
#include "transports/secure_channel.hpp"

namespace crust {

/// The secure channel for connection `s`: initiator when we dialled,
/// pinned to the dialled peer, a punch path when a hole punch made it.
secure_channel::settings stream_channel_settings(const connection_setup& s);

/// Runs `channel` over what was fed, up to its next need for bytes:
/// handshake replies go to `reply(bytes)`, `established()` runs once the
/// peer is proven (before the link hears it), frames go to the link.
template <class Reply, class Established>
void decode_stream(secure_channel& channel, link& lk, link::time_point now,
                   Reply reply, Established established) {
  for (;;) {
    frame_view f;
    std::vector<char> bytes;
    auto ev = channel.next(bytes, f);
    if (!bytes.empty())
      reply(bytes);
    switch (ev) {
      case secure_channel::event::need_more:
        return;
      case secure_channel::event::failed:
        lk.handle_misbehaviour(channel.kind(), channel.detail());
        return;
      case secure_channel::event::established:
        established();
        lk.handle_established(channel.remote());
        break;
      case secure_channel::event::frame:
        lk.handle_frame(0, f, now);
        if (lk.is_closed())
          return;
    }
  }
}

/// Defence before decryption: a peer over its rate waits (`pause(for)`
/// arms the carrier's resume timer); one that stays over it is a flood.
/// True while reading is held back.
template <class Pause>
bool apply_verdict(flood_gate::verdict v, flood_gate& gate, link& lk,
                   Pause pause) {
  switch (v) {
    case flood_gate::verdict::open:
      lk.handle_reading_paused(false);
      return false;
    case flood_gate::verdict::paused:
      lk.handle_reading_paused(true);
      pause(gate.pause_for());
      return true;
    case flood_gate::verdict::flood:
      lk.handle_misbehaviour(misbehaviour::flood, gate.detail());
      return false;
  }
  return false;
}

} // namespace crust
