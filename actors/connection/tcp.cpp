// A connection carried by TCP: a stateful broker that moves bytes between
// its scribe and the secure channel (Noise handshake, sealed records), and
// frames between the channel and the link. Before decryption it meters
// what the peer sends (flood_gate); reading is paced with scribe_control.
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <optional>

#include "actors/atoms.hpp"
#include "actors/connection/connection.hpp"
#include "actors/connection/link_host.hpp"
#include "actors/connection/scribe_control.hpp"
#include "actors/connection/secure_stream.hpp"
#include "actors/timer.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/ip_endpoint.hpp"
#include "transports/secure_channel.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using namespace caf;
using namespace caf::io;

// Its messages to itself.
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using rearm_atom = caf::atom_constant<caf::atom("rearm")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;

// What a TCP connection hears: the shared interface, its scribe's
// messages (written bytes are acknowledged, reading goes passive between
// tokens) and its own timers.
using tcp_connection_actor = link_host_actor::extend<
  reacts_to<new_data_msg>, reacts_to<connection_passivated_msg>,
  reacts_to<data_transferred_msg>, reacts_to<connection_closed_msg>,
  reacts_to<rearm_atom>, reacts_to<resume_atom>, reacts_to<finish_atom>>;

// Bytes handed to CAF but not yet written to the socket. Above this we stop
// moving frames out of the link, so CAF's buffer stays small and a
// high-priority message is never stuck behind megabytes of bulk.
constexpr size_t write_window = 256 * 1024;

// Reads start small (an idle connection's buffer in CAF stays this size)
// and grow once a read fills them.
constexpr size_t first_read_size = 4 * 1024;
constexpr size_t read_size = 64 * 1024;

link::settings tcp_link_settings(abstract_broker* self, connection_handle hdl,
                                 const connection_setup& s) {
  auto ls = link_host::settings_for(s);
  ls.address = to_string(ip_endpoint{self->remote_addr(hdl),
                                     self->remote_port(hdl)});
  ls.batching = true;
  ls.lanes_unordered = false; // one ordered stream
  return ls;
}

class tcp_connection : public link_host {
public:
  tcp_connection(abstract_broker* self, connection_handle hdl,
                 connection_setup s)
    : link_host(self, s, tcp_link_settings(self, hdl, s)),
      self_(self),
      hdl_(hdl),
      sock_(self, hdl),
      channel_(stream_channel_settings(setup_)),
      gate_(flow_rates{double(setup_.opts.max_bytes_per_sec),
                       double(setup_.opts.max_records_per_sec)},
            setup_.ips ? setup_.ips->acquire(self->remote_addr(hdl),
                                             self->clock().now())
                       : nullptr,
            setup_.opts.flood_timeout, self->clock().now()) {
    // nop
  }

  tcp_connection_actor::behavior_type make_behavior() {
    self_->set_error_handler([](error&) {}); // strays must not kill us
    self_->ack_writes(hdl_, true);
    announce();
    return behavior_with<tcp_connection_actor::behavior_type>(
      [this](const new_data_msg& msg) { on_bytes(msg.buf); },
      [this](const connection_passivated_msg&) {
        // Out of read tokens: reading waits for update_reading().
      },
      [this](const data_transferred_msg& msg) {
        in_flight_ -= std::min<size_t>(in_flight_, msg.written);
        if (link_.is_closed() && in_flight_ == 0 && !holding_for_fence())
          return sock_.release();
        pump();
        drain();
      },
      [this](const connection_closed_msg&) {
        link_.handle_transport_closed("connection closed by the peer");
        drain();
      },
      [this](rearm_atom) { update_reading(); },
      [this](resume_atom) {
        if (!throttled_ || link_.is_closed())
          return;
        throttle(gate_.on_resume(self_->clock().now()));
        update_reading();
        drain();
      },
      [this](finish_atom) { sock_.release(); });
  }

private:
  void on_bytes(const std::vector<char>& buf) {
    sock_.consumed(buf.size());
    if (link_.is_closed())
      return;
    auto records = channel_.records_read();
    channel_.feed(buf.data(), buf.size());
    decode();
    auto complete = channel_.records_read() - records;
    // Only whole records prove life: a peer dribbling the bytes of a record
    // it never finishes (slowloris) is lost at the heartbeat timeout.
    if (complete > 0)
      link_.handle_activity();
    if (!link_.is_closed())
      throttle(gate_.on_read(buf.size(), complete, self_->clock().now()));
    update_reading();
    drain();
  }

  // Runs the channel over what was fed, up to the next need for bytes.
  void decode() {
    decode_stream(
      channel_, link_, self_->clock().now(),
      [&](const std::vector<char>& reply) {
        write_handshake([&](std::vector<char>& out) {
          out.insert(out.end(), reply.begin(), reply.end());
        });
      },
      [&] {
        if (auto& p = channel_.punch())
          tell(setup_.service, punched_atom::value,
               std::vector<uint8_t>(p->attempt.begin(), p->attempt.end()));
      });
  }

  // Defence before decryption: a peer over its rate waits (TCP pushes
  // back); one that stays over it is a flood.
  void throttle(flood_gate::verdict v) {
    throttled_ = apply_verdict(v, gate_, link_, [&](timespan wait) {
      set_timer(self_, std::max<timespan>(wait, scribe_control::settle),
                resume_atom::value);
    });
  }

  // One more read, unless the undecided allowance or the rate stops us.
  // Called from reads, on admission, and from timers (see scribe_control).
  void update_reading() {
    if (link_.wants_input() && !throttled_)
      sock_.arm();
  }

  // -- link_host ----------------------------------------------------------------

  void on_admitted() override {
    sock_.configure(first_read_size, read_size);
    update_reading();
    write_handshake([&](std::vector<char>& buf) { channel_.start(buf); });
  }

  void resume_reading() override {
    // Not from here: this may run inside a read (see scribe_control).
    set_timer(self_, scribe_control::settle, rearm_atom::value);
  }

  void write_control() override {
    write_raw([&](std::vector<char>& buf) {
      link::control_frame f;
      while (link_.poll_control(f))
        channel_.seal(f.type, f.body.data(), f.body.size(), nullptr, 0, buf);
    });
  }

  // Moves data from the link to CAF while the write window has room.
  void pump() override {
    size_t moved = 0;
    auto& buf = self_->wr_buf(hdl_);
    auto batch = [&](auto&& fill) {
      channel_.seal_with(wire::frame_type::batch, buf, fill);
    };
    auto data = [&](uint8_t flags, const uint8_t* bytes, size_t size) {
      channel_.seal(wire::frame_type::data, &flags, 1, bytes, size, buf);
    };
    while (in_flight_ + moved < write_window) {
      auto before = buf.size();
      if (!link_.poll_data(batch, data))
        break;
      moved += buf.size() - before;
    }
    if (moved > 0)
      flushed(moved);
  }

  void on_closed() override {
    // Our last words (CLOSE) get a moment to reach the socket.
    sock_.close_later(in_flight_ > 0, finish_atom::value);
  }

  template <class F>
  void write_raw(F fill) {
    auto& buf = self_->wr_buf(hdl_);
    auto before = buf.size();
    fill(buf);
    if (buf.size() > before)
      flushed(buf.size() - before);
  }

  // Handshake bytes are ours, not the link's: it hears that they count
  // as traffic (no PING needed).
  template <class F>
  void write_handshake(F fill) {
    auto before = in_flight_;
    write_raw(std::move(fill));
    if (in_flight_ > before)
      link_.handle_transmitted();
  }

  void flushed(size_t n) {
    in_flight_ += n;
    self_->flush(hdl_);
  }

  abstract_broker* self_;
  connection_handle hdl_;
  scribe_control sock_;
  secure_channel channel_;
  flood_gate gate_;
  size_t in_flight_ = 0;
  bool throttled_ = false;
};

struct tcp_state {
  std::optional<tcp_connection> conn;
  static inline const char* name = "crust.connection.tcp";
};

using tcp_pointer = tcp_connection_actor::stateful_broker_pointer<tcp_state>;

tcp_connection_actor::behavior_type
run_tcp_connection(tcp_pointer self, connection_handle hdl,
                   connection_setup setup) {
  return self->state.conn.emplace(self, hdl, std::move(setup)).make_behavior();
}

tcp_connection_actor::behavior_type
run_tcp_from_socket(tcp_pointer self, network::native_socket fd,
                    connection_setup setup) {
  auto hdl = self->add_scribe(fd);
  return run_tcp_connection(self, hdl, std::move(setup));
}

} // namespace

connection_actor fork_tcp_connection(caf::io::broker* parent,
                                     caf::io::connection_handle hdl,
                                     connection_setup setup) {
  return parent->fork(run_tcp_connection, hdl, std::move(setup));
}

connection_actor spawn_tcp_connection(caf::actor_system& sys,
                                      caf::io::network::native_socket fd,
                                      connection_setup setup) {
  return sys.middleman().spawn_broker(run_tcp_from_socket, fd,
                                      std::move(setup));
}

} // namespace crust
