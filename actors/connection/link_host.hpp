// What every connection actor does around its `link`, whatever carries
// it: the messages from the service and the application that only the
// link decides (send, select, keep, close, peer exchange), the link's one
// timer, the plain senders' slots, and turning the link's events into
// messages to the service, the handler and senders. A carrier derives
// from it and adds what only it knows: how frames go out, how reading is
// paced, and how the carrier is let go once the link closed.
//
// After every input the host drains the link in its fixed order: control
// frames to the carrier, then the events, then the timer for the next
// deadline. Data moves only when the carrier pumps.
#pragma once

#include <caf/atom.hpp>

#include <caf/actor.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_behavior.hpp>

#include <map>
#include <optional>
#include <vector>

#include "actors/connection/connection.hpp"
#include "transports/link.hpp"

namespace crust {

// -- atoms: a connection's messages to itself ------------------------

using pump_atom = caf::atom_constant<caf::atom("pump")>;
using link_timeout_atom = caf::atom_constant<caf::atom("link_tout")>;

/// What every carrier hears: the connection's interface and the host's
/// messages to itself (pump_atom: move queued data; (link_timeout_atom,
/// deadline): the link's timer). A carrier extends it with its own.
using link_host_actor = connection_actor::extend<
  caf::reacts_to<pump_atom>, caf::reacts_to<link_timeout_atom, int64_t>>;

class link_host {
public:
  link_host(caf::scheduled_actor* self, connection_setup setup,
            link::settings ls);

  virtual ~link_host() = default;

  link_host(const link_host&) = delete;
  link_host& operator=(const link_host&) = delete;

  /// Link settings from the node's options; the carrier fills in the
  /// rest (address, batching, lanes).
  static link::settings settings_for(const connection_setup& s);

protected:
  /// The carrier's behaviour: its `own` handlers (busiest first: CAF
  /// tries them in order), then those every carrier shares. The type
  /// checks it against the carrier's interface.
  template <class Behavior, class... Fs>
  Behavior behavior_with(Fs... own) {
    return {
      std::move(own)...,
      [this](send& cmd) { on_send(cmd); },
      [this](pump_atom) { on_pump(); },
      [this](link_timeout_atom, int64_t at) { on_link_timeout(at); },
      [this](admit_atom) { on_admit(); },
      [this](select_atom) { on_select(); },
      [this](kept_atom) { on_kept(); },
      [this](close_atom, uint8_t reason) { on_close(reason); },
      [this](exchange_atom) {
        if (!to_path(exchange_atom::value))
          on_exchange();
      },
      [this](peers_atom, const std::vector<uint8_t>& sample) {
        if (!to_path(peers_atom::value, sample))
          on_peers(sample);
      },
      [this](endpoints_atom, const std::vector<std::string>& endpoints) {
        if (to_path(endpoints_atom::value, endpoints))
          return;
        link_.send_endpoints(endpoints);
        drain();
      },
      [this](forward_atom, const peer_id& to,
             const std::vector<uint8_t>& payload) {
        if (to_path(forward_atom::value, to, payload))
          return;
        link_.forward(to, payload);
        drain();
      },
      [this](forwarded_atom, const peer_id& from,
             const std::vector<uint8_t>& payload) {
        if (to_path(forwarded_atom::value, from, payload))
          return;
        link_.pass_on(from, payload);
        drain();
      },
      [this](forward_failed_atom, const peer_id& to, uint8_t why,
             const std::vector<uint8_t>& context) {
        if (to_path(forward_failed_atom::value, to, why, context))
          return;
        if (wire::known_forward_refusal(why))
          link_.refuse_forward(to, static_cast<wire::forward_refusal>(why),
                               context);
        drain();
      },
      [this](circ_open_atom, uint32_t id, const peer_id& to) {
        link_.open_circuit(id, to);
        drain();
      },
      [this](circ_opened_atom, uint32_t id, uint32_t credit,
             const std::vector<uint8_t>& limits) {
        if (limits.size() == relay_limits_size)
          link_.circuit_opened_frame(id, credit,
                                     decode_relay_limits(limits.data()));
        drain();
      },
      [this](circ_in_atom, uint32_t id, const peer_id& from, uint32_t credit,
             const std::vector<uint8_t>& limits) {
        if (limits.size() == relay_limits_size)
          link_.circuit_incoming_frame(id, from, credit,
                                       decode_relay_limits(limits.data()));
        drain();
      },
      [this](circ_data_atom, uint32_t id, const std::vector<uint8_t>& bytes) {
        link_.send_circuit_data(id, bytes.data(), bytes.size());
        drain();
      },
      [this](circ_credit_atom, uint32_t id, uint32_t bytes) {
        link_.grant_circuit_credit(id, bytes);
        drain();
      },
      [this](circ_close_atom, uint32_t id, uint8_t why) {
        routes_.erase(id);
        if (why <= max_circuit_reason)
          link_.close_circuit(id, static_cast<circuit_reason>(why));
        drain();
      },
      [this](circ_route_atom, uint32_t id, const caf::actor& to) {
        if (to)
          routes_[id] = to;
      },
      [this](path_leave_atom, const caf::actor& to) { on_path_leave(to); },
      [this](path_join_atom, handover_ptr& h, const caf::actor& from) {
        on_path_join(std::move(h), from);
      },
      [this](path_end_atom, const std::string& reason) {
        if (!path_ || self_->current_sender() != path_.address())
          return;
        tell(path_, path_fence_atom::value);
        lose_connection(reason);
      },
      [this](path_fence_atom) { on_path_fence(); },
      [this](path_bounce_atom, send& cmd) {
        auto rp = self_->make_response_promise();
        accept_send(cmd, rp);
      },
    };
  }

  /// Tells the service this connection exists; arms the first timer.
  void announce();

  /// Drains the link: write_control(), the events, the next timer.
  void drain();

  /// Sends `xs` as this actor (the service tells connections apart by
  /// their sender).
  template <class Handle, class... Ts>
  void tell(const Handle& to, Ts&&... xs) {
    caf::unsafe_send_as(self_, to, std::forward<Ts>(xs)...);
  }

  // -- what only the carrier knows ----------------------------------------------

  /// Moves the link's control frames to the carrier.
  virtual void write_control() = 0;

  /// Moves queued data to the carrier while its window has room (from
  /// pump_atom and the carrier's own "written" notices only, so that the
  /// sends queued together leave together).
  virtual void pump() = 0;

  /// The service admitted the connection: start reading (and the
  /// handshake, where the carrier runs it).
  virtual void on_admitted() = 0;

  /// The peer is kept: reading may resume (the undecided hold is over).
  virtual void resume_reading() = 0;

  /// The link closed: let the carrier go once our last words are out.
  virtual void on_closed() = 0;

  // -- moving between paths (docs/DESIGN.md, "Relay") ----------------------------
  //
  // A relayed connection is the *anchor* of its connection: the
  // application's handle, and what the service talks to. When a direct
  // connection to the same peer comes up, the service makes it the
  // anchor's *path*: the anchor leaves (its link parks) and hands its
  // ledger to the path, which joins and carries the connection; the
  // anchor then forwards what it is sent to the path. When the path's
  // link closes, or the peer moved back, the path hands the connection
  // back. An anchor whose own link closed while moved (its circuit gone)
  // lives on as a forwarder until its path ends.

  /// The anchor's connection moved to its path (the carrier may arm a
  /// timer to let its own carrier go).
  virtual void on_moved() {
  }

  /// The anchor's own link closed while its path carries the connection:
  /// let the carrier go, but stay (the actor is the application's handle).
  virtual void release_carrier() {
  }

  /// An anchor whose path ended the connection, or ended without
  /// handing it back, or with nowhere to hand it: the connection is
  /// lost, for `why`.
  void lose_connection(const std::string& why);

  /// A path that gave its connection back waits for its anchor's fence
  /// before its carrier may go (sends may still be on their way to it).
  bool holding_for_fence() const {
    return release_after_fence_;
  }

  /// A monitored actor went down: an anchor waiting for the fence from
  /// it takes that as the fence (what it passed back came before).
  void on_down(const caf::actor_addr& who);

  /// The path that carries this anchor's connection now (null: none).
  const caf::actor& carrying_path() const {
    return path_;
  }

  caf::scheduled_actor* self_;
  connection_setup setup_;
  crust::link link_;

private:
  // The shared handlers.
  void on_send(send& cmd);
  void on_pump();
  void on_link_timeout(int64_t at);
  void on_admit();
  void on_select();
  void on_kept();
  void on_close(uint8_t reason);
  void on_exchange();
  void on_peers(const std::vector<uint8_t>& sample);

  void dispatch(link::event& ev);
  void on_path_leave(const caf::actor& to);
  void on_path_fence();
  void end_fence();
  /// Queues `cmd` on our link; `rp` answers its sender (a request's
  /// reply, or a plain send's send_failed).
  void accept_send(send& cmd, caf::response_promise& rp);
  void refuse(send& cmd, caf::response_promise& rp, errc why);
  void on_path_join(handover_ptr h, const caf::actor& from);
  /// The link closed; false when this actor lives on (an anchor whose
  /// path carries its connection).
  bool on_link_closed(link::closed& x);
  /// The path's link left or closed: the connection goes back to the
  /// anchor, once.
  void hand_back();
  /// An anchor whose path carries its connection passes `xs` on to it.
  template <class... Ts>
  bool to_path(Ts&&... xs) {
    if (!path_)
      return false;
    tell(path_, std::forward<Ts>(xs)...);
    return true;
  }
  void schedule_pump();
  /// Who hears circuit `id`'s frames: its relayed connection, or the
  /// service.
  caf::actor route(uint32_t id) const;
  void arm_timer();
  uint32_t plain_slot(const caf::response_promise& rp);
  void release_if_idle(uint32_t slot);

  // Circuits this connection carries whose frames go to a relayed
  // connection, by id (the rest go to the service). Bounded by the
  // relay's circuits per peer: only the service adds routes.
  std::map<uint32_t, caf::actor> routes_;
  // The deadline the pending timer message is for.
  std::optional<link::time_point> armed_;
  bool pump_pending_ = false;
  // Senders of plain (unanswered) sends, so that each hears `sent` as its
  // bytes leave: slot k is the link's slot k + 1 (0: a request, or
  // anonymous). A slot is let go once all its bytes are reported (the
  // handle is strong: held, it would keep that actor alive).
  std::vector<caf::strong_actor_ptr> plain_;
  // As a path: the anchor whose connection we carry, and whether we gave
  // it back already. As an anchor: the path that carries ours now, and
  // why our own link closed while it did.
  caf::actor anchor_;
  bool handed_back_ = false;
  caf::actor path_;
  std::optional<link::closed> outlived_;
  // The fence (path_fence_atom) after an anchor takes its connection
  // back: as the anchor, the old path it waits for, the sends that came
  // meanwhile (held, in order, bytes bounded by the send queue), and a
  // move the service asked for meanwhile; as a path, whether the fence
  // came, and whether our carrier waits for it to be let go.
  caf::actor fence_from_;
  std::vector<std::pair<caf::response_promise, send>> fenced_;
  size_t fenced_bytes_ = 0;
  caf::actor leave_after_fence_;
  bool fence_seen_ = false;
  bool release_after_fence_ = false;
};

} // namespace crust
