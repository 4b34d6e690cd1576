// One SCTP association run by usrsctp over datagrams we carry ourselves
// (AF_CONN, as WebRTC data channels run SCTP over DTLS): reliable,
// message-oriented, ordered per stream. Packets usrsctp wants sent are
// queued here for the caller to seal and send; packets that arrive are
// handed in. No sockets, no threads of ours: the caller drives it and
// ticks the timers (sctp_stack::tick). See ../shared/USRSCTP-NOTES.md
// for the API sequence this follows and its pitfalls.
//
// usrsctp is one stack per process (sctp_stack). Its timers fire for
// every association in the process, whichever caller ticks them, so every
// call into usrsctp, and every look at what its callbacks queued, holds
// the stack's one lock (links of two engines, e.g. two actor systems, may
// live on two threads).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <deque>
#include <string>
#include <vector>

struct socket; // usrsctp's

namespace crust {

/// The process's usrsctp stack: initialised on first use (without its
/// own timer thread, CRC32c off because our AEAD authenticates every
/// packet, timers tuned so one lost packet costs ~40-100 ms, not seconds)
/// and never finished (usrsctp cannot be started twice in a process).
class sctp_stack {
public:
  static sctp_stack& instance();

  /// Held around every call into usrsctp and every access to the queues
  /// its callbacks fill.
  static std::recursive_mutex& lock();

  /// Advances usrsctp's timers by `elapsed_ms`. usrsctp also reads
  /// gettimeofday(): a T3 timeout resends only chunks outstanding for
  /// srtt + 4 * rttvar (at least 10 ms) by that clock, so the ticks must
  /// keep pace with real time, not run ahead of it (a stepped test clock
  /// moves both: tests/unit/test_wall_clock.hpp).
  void tick(uint32_t elapsed_ms);

  /// Advances usrsctp's timers to `now` on the process's one clock:
  /// several callers (one engine per actor system) never count the same
  /// milliseconds twice.
  void tick_to(std::chrono::steady_clock::time_point now);

private:
  sctp_stack();

  std::mutex mtx_;
  std::chrono::steady_clock::time_point last_;
  std::chrono::steady_clock::duration carry_{0};
};

/// Bytes before and behind each packet sctp_link hands out.
struct packet_room {
  size_t head = 0;
  size_t tail = 0;
};

class sctp_link {
public:
  /// Largest packet usrsctp hands us: fits a 1280-byte IPv6 path with
  /// room for our datagram header and AEAD tag.
  static constexpr int mtu = 1200;

  struct message {
    uint16_t stream = 0;
    std::vector<uint8_t> bytes;
  };

  using room = packet_room;

  /// `max_message`: the largest message the peer may send us; a longer
  /// one breaks the link (down(), with error() saying so). `around`: room
  /// left around each outgoing packet, for sealing it in place.
  explicit sctp_link(uint16_t streams = 2,
                     size_t max_message = 16 * 1024 * 1024 + 64,
                     room around = {});
  sctp_link(const sctp_link&) = delete;
  sctp_link& operator=(const sctp_link&) = delete;
  ~sctp_link();

  /// Starts the association; both ends call it (no listen/accept).
  void connect();

  /// Ends the association (an ABORT lands in output()); nothing more
  /// goes in or out afterwards.
  void close();

  /// A packet from the peer (after our layer opened it).
  void input(const uint8_t* data, size_t size);

  /// Queues a message on `stream`; false when the send buffer is full
  /// (retry after packets flowed) or the link is down.
  bool send(uint16_t stream, const uint8_t* data, size_t size);

  /// Takes the packets for the peer, oldest first, each with the room
  /// asked for around it.
  std::deque<std::vector<uint8_t>> take_output();

  /// Takes the whole messages from the peer, oldest first.
  std::deque<message> take_received();

  bool up() const {
    return up_;
  }

  /// The association failed, the peer closed it, or it never started
  /// (then `error` says why).
  bool down() const {
    return down_;
  }

  const std::string& error() const {
    return error_;
  }

private:
  friend struct sctp_callbacks;

  struct socket* sock_ = nullptr;
  uint16_t streams_;
  size_t max_message_;
  size_t headroom_;
  size_t tailroom_;
  // Set by usrsctp's callbacks, which may run on another engine's thread.
  std::atomic<bool> up_{false};
  std::atomic<bool> down_{false};
  std::string error_;
  std::deque<std::vector<uint8_t>> out_;
  std::deque<message> in_;
  std::vector<std::vector<uint8_t>> partial_; // per stream, until EOR
};

} // namespace crust
