// One hole-punching attempt, sans-I/O: the signals exchanged through a
// mutual peer (or the application), the synchronised start, the rounds,
// and which authenticated path wins. It is fed signals, paths and the
// time; it is polled for signals to send, punch plans for the sockets,
// and the next deadline (quinn-proto's discipline, as transports/link).
// The hole_punch actor does the sockets; the Noise handshake on a path
// proves the peer.
//
// Phases and their only transitions (`connected` and `failed` are final;
// every phase but those has a deadline, and the whole attempt has
// crust.punch-timeout):
//
//   offerer:
//   gathering   --start(): OFFER sent--------------------------> offered
//   offered     --ANSWER: SYNC sent, wait RTT/2 (round 1)-------> synced
//   offered     --ANSWER: SYNC sent, start now (rounds 2, 3)----> punching
//   synced      --RTT/2 passed: plan polled--------------------> punching
//   answerer:
//   gathering   --OFFER, then start(): ANSWER sent-------------> answered
//   answered    --SYNC: plan polled-----------------------------> punching
//   answered, punching, handshaking
//               --OFFER of the next round: ANSWER sent----------> answered
//   signalled by the application (connect_with: both halves known):
//   gathering   --start_signalled()-----------------------------> punching
//   punching, handshaking
//               --round deadline, rounds left: next round-------> punching
//   both:
//   punching    --handle_path_opened(), or a probe of ours
//                 answered (handle_probe_acked)------------------> handshaking
//   handshaking --every opened path failed----------------------> punching
//   gathering, offered, answered, synced, punching, handshaking
//               --a path authenticated (TCP or UDP)-------------> connected
//                 (the peer's path may reach us before we punch)
//   offered, answered, synced, punching, handshaking
//               --round deadline, rounds left: offerer sends the
//                 next OFFER (offered), answerer waits (answered)
//               --round deadline, no round left; the overall
//                 deadline; CANCEL; cancel()------------------> failed
//
// UDP: from the start of a round, PROBEs go to each of the peer's UDP
// candidates every probe_interval (poll_probes), and to every address the
// peer's own probes came from (peer-reflexive). The first of our probes
// answered is the validated path: the side with the smaller peer id
// (udp_dialer) starts the rudp handshake there (poll_udp_dial), after the
// TCP grace when TCP is tried too, so that TCP is favoured; the other
// side's engine takes that handshake as the punch's.
//
// Every round tries every candidate. Round 1 starts both sides together;
// in round 2 the offerer starts at once (the answerer one forwarding
// later); rounds 2 and 3 add birthday mode when one side's mapping is
// endpoint-dependent and the other's is not (and both allow it): the
// endpoint-dependent side opens many sockets toward the peer, the other
// sprays probes at random ports of its NAT (../shared/PUNCH-NOTES.md 4.4). Port guesses are in round 1 as well: for TCP they are
// usually the only outside candidate (STUN sees another socket, peers see
// outbound connections' ports). Almost every success comes in round
// 1 (../shared/PUNCH-NOTES.md 1.4), so later rounds change strategy.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nat/punch/candidates.hpp"
#include "nat/punch/signal.hpp"

namespace crust {

class punch_attempt {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  enum class role { offerer, answerer };

  enum class phase {
    gathering,
    offered,
    answered,
    synced,
    punching,
    handshaking,
    connected,
    failed,
  };

  enum class path { tcp, udp };

  struct settings {
    /// How long one round may take, signals included.
    duration round_time = std::chrono::seconds(3);
    /// crust.punch-timeout: the whole attempt.
    duration overall = std::chrono::seconds(10);
    /// How long a validated UDP path waits for TCP to win before its
    /// handshake starts.
    duration tcp_grace = std::chrono::milliseconds(200);
    /// How often a round's probes go out, and at most how many rounds of
    /// them (the channel caps each attempt's datagrams as well).
    duration probe_interval = std::chrono::milliseconds(100);
    uint16_t max_probe_bursts = 40;
    /// Birthday mode (crust.punch-birthday).
    bool birthday = true;
    /// Birthday mode's sockets on the endpoint-dependent side and probes
    /// on the other (../shared/PUNCH-NOTES.md 4.4: >= 98 % in the lab).
    uint16_t birthday_sockets = 256;
    uint16_t birthday_probes = 1024;
    /// The probing side sprays its probes this long after the round
    /// starts (the other side's sockets open their mappings first), in
    /// bursts of spray_burst every spray_interval.
    duration spray_delay = std::chrono::milliseconds(200);
    uint16_t spray_burst = 128;
    duration spray_interval = std::chrono::milliseconds(50);
  };

  /// What this side brings.
  struct local_info {
    std::vector<candidate> candidates;
    nat_mapping mapping = nat_mapping::unknown;
    uint8_t caps = cap_tcp | cap_udp;
    /// We start the rudp handshake on a validated UDP path (the side
    /// with the smaller peer id, as the Noise initiator on punched TCP).
    bool udp_dialer = false;
  };

  /// What the sockets should do for a round.
  struct plan {
    uint8_t round = 1;
    /// The peer's candidates to connect to (TCP) and probe (UDP).
    std::vector<candidate> remote;
    bool tcp = false;
    bool udp = false;
    /// Birthday mode: open this many UDP sockets toward the peer's
    /// candidates (we are the endpoint-dependent side), or probe this
    /// many random ports on its reflexive address (we are not).
    uint16_t birthday_sockets = 0;
    uint16_t birthday_probes = 0;
  };

  punch_attempt(role r, attempt_id id, probe_key key, settings s,
                time_point now);

  // -- input from the application and the sockets ---------------------------

  /// Our candidates are gathered: the offerer sends OFFER; the answerer,
  /// once it holds the OFFER, sends ANSWER.
  void start(local_info ours, time_point now);

  /// Both halves are known (the application exchanged them, nat/punch/
  /// rendezvous): punching starts at once, and every later round when
  /// the last one ends; no signal is ever sent.
  void start_signalled(local_info ours, const punch_signal& theirs,
                       time_point now);

  /// A signal of this attempt from the peer (already verified).
  void handle_signal(const punch_signal& s, time_point now);

  /// A path reached the peer at transport level; its handshake runs.
  void handle_path_opened(path p, time_point now);

  /// An opened path failed before it was authenticated.
  void handle_path_failed(path p, time_point now);

  /// A path's handshake proved the expected peer.
  void handle_path_authenticated(path p, time_point now);

  /// A PROBE of the peer's came from `from` (and was answered).
  void handle_probed(const ip_endpoint& from, time_point now);

  /// One of our probes was answered from `from`, which saw us at
  /// `observed`.
  void handle_probe_acked(const ip_endpoint& from,
                          const ip_endpoint& observed, time_point now);

  void handle_timeout(time_point now);

  /// Gives up; the peer hears CANCEL.
  void cancel(std::string why);

  // -- output, polled in this order -----------------------------------------

  /// A signal to send to the peer.
  std::optional<punch_signal> poll_signal();

  /// A round's plan for the sockets (a new plan replaces the last).
  std::optional<plan> poll_plan();

  /// Where to send a PROBE now (empty between bursts).
  std::vector<ip_endpoint> poll_probes(time_point now);

  /// Birthday mode, the side that probes: `count` probes to random ports
  /// of `ip` (the peer's outside address) are due now.
  struct spray {
    std::string ip;
    uint16_t count = 0;
  };
  std::optional<spray> poll_spray(time_point now);

  /// The validated UDP path to start the rudp handshake on, once.
  std::optional<ip_endpoint> poll_udp_dial();

  std::optional<time_point> poll_timeout() const;

  // -- state ------------------------------------------------------------------

  phase state() const {
    return phase_;
  }

  uint8_t round() const {
    return round_;
  }

  /// The winner, once connected.
  std::optional<path> chosen() const {
    return chosen_;
  }

  /// Why each round failed, once failed (for connection_failed).
  const std::vector<std::string>& reasons() const {
    return reasons_;
  }

  const attempt_id& id() const {
    return id_;
  }

  /// The key the attempt's probes and hellos are MACed with (the
  /// offerer's).
  const probe_key& key() const {
    return key_;
  }

  /// Where the peer saw our probes come from (our UDP reflexive
  /// endpoint), once one was answered.
  const std::optional<ip_endpoint>& reflexive() const {
    return reflexive_;
  }

  /// The round trip the offerer measured on the signalling path.
  std::optional<duration> rtt() const {
    return rtt_;
  }

private:
  void send(signal_kind k);
  void offer(time_point now);
  void start_punching(time_point now);
  void end_round(const std::string& why, time_point now);
  void fail(std::string why);
  void connect(path p);
  void reset_paths();
  plan make_plan() const;

  role role_;
  attempt_id id_;
  probe_key key_;
  settings settings_;
  phase phase_ = phase::gathering;
  uint8_t round_ = 1;
  time_point deadline_;  // the phase's
  time_point give_up_;   // the attempt's
  time_point offered_at_;
  std::optional<time_point> grace_until_;
  std::optional<duration> rtt_;
  std::optional<local_info> ours_;
  std::optional<punch_signal> theirs_; // their OFFER or ANSWER
  std::vector<punch_signal> out_;
  std::optional<plan> plan_;
  int open_paths_ = 0;
  // UDP: where this round probes, when the next burst goes and how many
  // are left; the validated path, when its handshake is due and whether
  // it is to be polled; addresses the peer probed us from (all rounds).
  std::vector<ip_endpoint> probe_to_;
  std::optional<time_point> next_probe_;
  uint16_t bursts_left_ = 0;
  std::optional<ip_endpoint> udp_path_;
  std::optional<ip_endpoint> udp_dial_;
  std::vector<ip_endpoint> peer_reflexive_;
  std::optional<ip_endpoint> reflexive_;
  // Birthday mode's spray: where, how many are left, when the next burst.
  std::string spray_ip_;
  uint16_t spray_left_ = 0;
  std::optional<time_point> spray_next_;
  std::optional<path> chosen_;
  bool plan_tcp_ = false;
  bool signalled_ = false;
  std::vector<std::string> reasons_;
  static constexpr size_t max_peer_reflexive = 8;
};

const char* to_string(punch_attempt::phase p);

} // namespace crust
