// A connection through a relay: a stateful actor that runs the secure
// channel (its own Noise XX handshake with the far end, sealed records)
// over a circuit, whose bytes travel as CIRCUIT_DATA inside our
// connection to the relay (the carrier, another connection actor). The
// relay sees only ciphertext. Flow control is the circuit's credit: we
// send no more than the relay granted, and grant it more only as we
// consume, so a paused or undecided link stops the far sender the way a
// full TCP window would. Before decryption it meters what arrives
// (flood_gate), as tcp.cpp does.
#include <caf/all.hpp>

#include <optional>

#include "actors/atoms.hpp"
#include "actors/connection/connection.hpp"
#include "actors/connection/link_host.hpp"
#include "actors/connection/secure_stream.hpp"
#include "actors/timer.hpp"
#include "transports/circuit.hpp"
#include "transports/defence/flood_gate.hpp"
#include "transports/secure_channel.hpp"
#include "transports/wire.hpp"

namespace crust {

namespace {

using namespace caf;

using resume_atom = caf::atom_constant<caf::atom("resume")>;
using grace_atom = caf::atom_constant<caf::atom("grace")>;

// What a relayed connection hears: the shared interface, its circuit's
// frames from the carrier and its own timer.
using relayed_connection_actor = link_host_actor::extend<
  reacts_to<circ_data_atom, uint32_t, std::vector<uint8_t>>,
  reacts_to<circ_credit_atom, uint32_t, uint32_t>,
  reacts_to<circ_close_atom, uint32_t, uint8_t>, reacts_to<resume_atom>,
  reacts_to<grace_atom, uint64_t>>;

// Sealed bytes we hold beyond the credit: above this no more frames move
// out of the link (as tcp.cpp's write window).
constexpr size_t write_window = 256 * 1024;

// The secure stream's settings, less any hole punch: a circuit is never
// a punch's path.
secure_channel::settings relayed_channel_settings(connection_setup s) {
  s.punch.reset();
  s.punches.reset();
  return stream_channel_settings(s);
}

link::settings relayed_link_settings(const connection_setup& s) {
  auto ls = link_host::settings_for(s);
  ls.address = to_string(s.info.remote);
  ls.batching = true;
  ls.lanes_unordered = false; // one ordered byte stream
  ls.resumable = true;        // it may move to a direct path
  return ls;
}

class relayed_connection : public link_host {
public:
  relayed_connection(relayed_connection_actor::pointer self,
                     connection_actor carrier, uint32_t circuit,
                     uint32_t credit, uint32_t window, connection_setup s)
    : link_host(self, s, relayed_link_settings(s)),
      self_(self),
      carrier_(std::move(carrier)),
      circuit_(circuit),
      credit_(credit),
      window_(std::max<uint32_t>(window, 2 * 1024)),
      channel_(relayed_channel_settings(setup_)),
      gate_(flow_rates{double(setup_.opts.max_bytes_per_sec),
                       double(setup_.opts.max_records_per_sec)},
            nullptr, setup_.opts.flood_timeout, self->clock().now()) {
    // nop
  }

  relayed_connection_actor::behavior_type make_behavior() {
    self_->set_error_handler([](error&) {}); // strays must not kill us
    // The carrier gone is the circuit gone.
    self_->monitor(carrier_);
    self_->set_down_handler([this](down_msg& dm) {
      on_down(dm.source);
      if (dm.source == carrier_.address()) {
        carrier_closed_ = true;
        link_.handle_transport_closed("the connection to the relay ended");
        drain();
      } else if (carrying_path() && dm.source == carrying_path().address()) {
        // It ended without giving the connection back.
        lose_connection("the direct path failed");
      }
    });
    announce();
    return behavior_with<relayed_connection_actor::behavior_type>(
      [this](circ_data_atom, uint32_t id, std::vector<uint8_t>& bytes) {
        if (id == circuit_)
          on_bytes(bytes);
      },
      [this](circ_credit_atom, uint32_t id, uint32_t n) {
        if (id != circuit_)
          return;
        credit_ = std::min<uint64_t>(uint64_t{credit_} + n, 1u << 31);
        flush_out();
        pump();
        drain();
      },
      [this](circ_close_atom, uint32_t id, uint8_t why) {
        if (id != circuit_)
          return;
        carrier_closed_ = true;
        link_.handle_transport_closed(
          std::string{"relay circuit closed: "}
          + (why <= max_circuit_reason
               ? to_string(static_cast<circuit_reason>(why))
               : "unknown reason"));
        drain();
      },
      [this](resume_atom) {
        if (!throttled_ || link_.is_closed())
          return;
        throttle(gate_.on_resume(self_->clock().now()));
        grant();
        drain();
      },
      [this](grace_atom, uint64_t move) {
        // Still on the path this grace was for: the circuit is let go
        // (the relay's capacity is for those with no other way).
        if (move != moves_ || !carrying_path() || link_.is_closed())
          return;
        link_.handle_transport_closed(
          "released the relay circuit after the direct path carried the "
          "connection for "
          + to_text(setup_.opts.relay_grace));
        drain();
      });
  }

private:
  void on_bytes(std::vector<uint8_t>& bytes) {
    if (link_.is_closed())
      return;
    // The relay may send no more than we granted it.
    if (bytes.size() > allowed_) {
      link_.handle_misbehaviour(misbehaviour::protocol_violation,
                                "the relay sent more than its credit");
      drain();
      return;
    }
    allowed_ -= static_cast<uint32_t>(bytes.size());
    consumed_ += bytes.size();
    auto records = channel_.records_read();
    channel_.feed(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    decode();
    auto complete = channel_.records_read() - records;
    if (complete > 0)
      link_.handle_activity();
    if (!link_.is_closed())
      throttle(gate_.on_read(bytes.size(), complete, self_->clock().now()));
    grant();
    drain();
  }

  void decode() {
    decode_stream(
      channel_, link_, self_->clock().now(),
      [&](const std::vector<char>& reply) {
        out_.insert(out_.end(), reply.begin(), reply.end());
        link_.handle_transmitted();
        flush_out();
      },
      [] {});
  }

  void throttle(flood_gate::verdict v) {
    throttled_ = apply_verdict(v, gate_, link_, [&](timespan wait) {
      set_timer(self_, wait, resume_atom::value);
    });
  }

  // More credit for the relay as we consume, in grants of half a window,
  // and none while reading should stop (undecided, throttled).
  void grant() {
    if (!link_.wants_input() || throttled_ || consumed_ < window_ / 2)
      return;
    auto n = static_cast<uint32_t>(consumed_);
    consumed_ = 0;
    allowed_ += n;
    tell(carrier_, circ_credit_atom::value, circuit_, n);
  }

  // Sealed bytes go out as far as the credit reaches.
  void flush_out() {
    size_t at = 0;
    while (at < out_.size() && credit_ > 0) {
      auto n = std::min<size_t>({out_.size() - at, credit_,
                                 wire::max_circuit_chunk});
      tell(carrier_, circ_data_atom::value, circuit_,
           std::vector<uint8_t>(out_.begin() + static_cast<ptrdiff_t>(at),
                                out_.begin()
                                  + static_cast<ptrdiff_t>(at + n)));
      credit_ -= static_cast<uint32_t>(n);
      at += n;
    }
    out_.erase(out_.begin(), out_.begin() + static_cast<ptrdiff_t>(at));
  }

  // -- link_host ----------------------------------------------------------------

  void on_admitted() override {
    // The relay may send us a window to start with.
    allowed_ = window_;
    tell(carrier_, circ_credit_atom::value, circuit_, window_);
    channel_.start(out_);
    link_.handle_transmitted();
    flush_out();
  }

  void resume_reading() override {
    grant();
  }

  void write_control() override {
    link::control_frame f;
    while (link_.poll_control(f))
      channel_.seal(f.type, f.body.data(), f.body.size(), nullptr, 0, out_);
    flush_out();
  }

  void pump() override {
    auto batch = [&](auto&& fill) {
      channel_.seal_with(wire::frame_type::batch, out_, fill);
    };
    auto data = [&](uint8_t flags, const uint8_t* bytes, size_t size) {
      channel_.seal(wire::frame_type::data, &flags, 1, bytes, size, out_);
    };
    while (out_.size() < write_window && link_.poll_data(batch, data))
      ; // nop
    flush_out();
  }

  void on_closed() override {
    release_carrier();
    self_->quit();
  }

  void on_moved() override {
    self_->monitor(carrying_path());
    set_timer(self_, setup_.opts.relay_grace, grace_atom::value, ++moves_);
  }

  void release_carrier() override {
    // Our last words (CLOSE) as far as the credit goes, then the circuit.
    flush_out();
    if (!carrier_closed_)
      tell(carrier_, circ_close_atom::value, circuit_,
           static_cast<uint8_t>(circuit_reason::closed_by_peer));
    carrier_closed_ = true;
  }

  relayed_connection_actor::pointer self_;
  connection_actor carrier_;
  uint32_t circuit_;
  uint32_t credit_;      // bytes we may still send the relay
  uint32_t window_;      // the relay's window
  uint32_t allowed_ = 0; // bytes the relay may still send us
  size_t consumed_ = 0;  // bytes taken since our last grant
  secure_channel channel_;
  flood_gate gate_;
  std::vector<char> out_; // sealed, waiting for credit
  bool throttled_ = false;
  bool carrier_closed_ = false;
  uint64_t moves_ = 0; // moves to a path so far: names each grace timer
};

struct relayed_state {
  std::optional<relayed_connection> conn;
  static inline const char* name = "crust.connection.relayed";
};

relayed_connection_actor::behavior_type
run_relayed_connection(
  relayed_connection_actor::stateful_pointer<relayed_state> self,
  connection_actor carrier, uint32_t circuit, uint32_t credit,
  uint32_t window, connection_setup setup) {
  return self->state.conn
    .emplace(self, std::move(carrier), circuit, credit, window,
             std::move(setup))
    .make_behavior();
}

} // namespace

connection_actor spawn_relayed_connection(caf::actor_system& sys,
                                          connection_actor carrier,
                                          uint32_t circuit, uint32_t credit,
                                          uint32_t window,
                                          connection_setup setup) {
  return sys.spawn(run_relayed_connection, std::move(carrier), circuit,
                   credit, window, std::move(setup));
}

} // namespace crust
