// A connection carried by reliable UDP: a stateful actor between a session
// of the rudp engine (actors/rudp_engine), which ran the Noise handshake
// and keeps the SCTP association, and the link. The engine hands over the
// peer's HELLO on admission; frames are SCTP messages, each
// [stream u8][type u8][body]. Stream 0 carries control frames and the
// high lane, stream 1 the normal lane (the link's lanes); ordering holds
// per stream only, which the link knows (lanes_unordered).
#include <caf/all.hpp>

#include <optional>

#include "actors/atoms.hpp"
#include "actors/connection/connection.hpp"
#include "actors/connection/link_host.hpp"
#include "actors/rudp_engine/engine.hpp"
#include "transports/datagram/channel.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using namespace caf;

// Bytes handed to the engine and not yet taken by SCTP.
constexpr size_t rudp_window = 256 * 1024;

using frames = rudp_frames;

// What a rudp connection hears: the shared interface and its session's
// messages from the engine.
using rudp_connection_actor = link_host_actor::extend<
  reacts_to<rudp_frames_atom, frames>, reacts_to<rudp_sent_atom, uint64_t>,
  reacts_to<rudp_down_atom, std::string, uint8_t>>;

link::settings rudp_link_settings(const connection_setup& s) {
  auto ls = link_host::settings_for(s);
  ls.address = to_string(ip_endpoint{s.info.remote.host, s.info.remote.port});
  ls.batching = false;
  ls.lanes_unordered = true; // two SCTP streams
  return ls;
}

class rudp_connection : public link_host {
public:
  rudp_connection(rudp_connection_actor::pointer self, rudp_engine_actor engine,
                  rudp_socket ep, rudp_session session, connection_setup s)
    : link_host(self, s, rudp_link_settings(s)),
      self_(self),
      engine_(std::move(engine)),
      ep_(ep),
      session_(session) {
    // nop
  }

  rudp_connection_actor::behavior_type make_behavior() {
    self_->set_error_handler([](error&) {}); // strays must not kill us
    announce();
    return behavior_with<rudp_connection_actor::behavior_type>(
      [this](rudp_frames_atom, frames& fs) { on_frames(fs); },
      [this](rudp_sent_atom, uint64_t n) {
        in_flight_ -= std::min<size_t>(in_flight_, n);
        pump();
        drain();
      },
      [this](rudp_down_atom, std::string& reason, uint8_t kind) {
        if (kind == no_misbehaviour)
          link_.handle_transport_closed(std::move(reason));
        else
          link_.handle_misbehaviour(static_cast<misbehaviour>(kind),
                                    std::move(reason));
        drain();
      });
  }

private:
  void on_frames(frames& fs) {
    // Frames only follow the attach reply (which carries the earlier ones);
    // none can come before it.
    if (!up_)
      return;
    auto now = self_->clock().now();
    for (auto& f : fs) {
      if (link_.is_closed())
        break;
      link_.handle_activity();
      if (f.size() < 2 || !wire::known_frame_type(f[1])) {
        link_.handle_misbehaviour(misbehaviour::protocol_violation,
                                  f.size() < 2 ? "empty frame"
                                               : "unknown frame type "
                                                   + std::to_string(f[1]));
        break;
      }
      link_.handle_frame(f[0],
                         frame_view{static_cast<wire::frame_type>(f[1]),
                                    f.data() + 2, f.size() - 2},
                         now);
    }
    if (!link_.is_closed())
      update_reading();
    drain();
  }

  void update_reading() {
    auto on = link_.input_halted();
    if (on == paused_ || !up_)
      return;
    paused_ = on;
    tell(engine_, rudp_pause_atom::value, ep_, session_, on);
  }

  void send_frames(frames fs) {
    if (!fs.empty())
      tell(engine_, rudp_send_atom::value, ep_, session_, std::move(fs));
  }

  // -- link_host ----------------------------------------------------------------

  void on_admitted() override {
    self_
      ->request(engine_, std::chrono::seconds(10), rudp_attach_atom::value,
                ep_, session_)
      .then(
        [this](const peer_id& id, uint64_t session, bool bootstrapping,
               frames& held) {
          if (link_.state() != link::phase::handshaking)
            return;
          up_ = true;
          link_.handle_established(hello{id, session, bootstrapping});
          on_frames(held);
        },
        [this](error&) {
          link_.handle_transport_closed("the rudp session ended");
          drain();
        });
  }

  void resume_reading() override {
    update_reading();
  }

  void write_control() override {
    frames fs;
    link::control_frame c;
    while (link_.poll_control(c)) {
      std::vector<uint8_t> f;
      f.reserve(2 + c.body.size());
      f.push_back(c.lane);
      f.push_back(static_cast<uint8_t>(c.type));
      f.insert(f.end(), c.body.begin(), c.body.end());
      in_flight_ += f.size() - 1;
      fs.push_back(std::move(f));
    }
    send_frames(std::move(fs));
  }

  void pump() override {
    frames fs;
    auto no_batch = [](auto&&) {}; // batching is off over rudp
    auto data = [&](uint8_t flags, const uint8_t* bytes, size_t size) {
      std::vector<uint8_t> f;
      f.reserve(3 + size);
      f.push_back((flags & wire::flag_normal) ? 1 : 0);
      f.push_back(static_cast<uint8_t>(wire::frame_type::data));
      f.push_back(flags);
      f.insert(f.end(), bytes, bytes + size);
      in_flight_ += f.size() - 1;
      fs.push_back(std::move(f));
    };
    while (in_flight_ < rudp_window && link_.poll_data(no_batch, data))
      ; // nop
    send_frames(std::move(fs));
  }

  void on_closed() override {
    // The engine lets the association go a moment later, so our CLOSE
    // still reaches the peer.
    tell(engine_, rudp_end_atom::value, ep_, session_);
    self_->quit();
  }

  rudp_connection_actor::pointer self_;
  rudp_engine_actor engine_;
  rudp_socket ep_;
  rudp_session session_;
  size_t in_flight_ = 0;
  bool up_ = false;
  bool paused_ = false;
};

struct rudp_state {
  std::optional<rudp_connection> conn;
  static inline const char* name = "crust.connection.rudp";
};

rudp_connection_actor::behavior_type
run_rudp_connection(rudp_connection_actor::stateful_pointer<rudp_state> self,
                             rudp_engine_actor engine, rudp_socket ep,
                             rudp_session session, connection_setup setup) {
  return self->state.conn
    .emplace(self, std::move(engine), ep, session, std::move(setup))
    .make_behavior();
}

} // namespace

connection_actor spawn_rudp_connection(caf::actor_system& sys,
                                       rudp_engine_actor engine,
                                       rudp_socket ep, rudp_session session,
                                       connection_setup setup) {
  return sys.spawn(run_rudp_connection, std::move(engine), ep, session,
                   std::move(setup));
}

} // namespace crust
