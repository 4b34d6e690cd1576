// What kind of NAT is between us and the internet, from STUN answers
// (RFC 5780's tests, reduced to what a hole puncher needs). Sans-I/O: the
// address discovery actor moves its datagrams and its clock.
//
// One socket asks every STUN server where it sees us. The first server
// that names a second address of its own (OTHER-ADDRESS) is asked to
// answer from its other address and port, and from its other port only
// (does our NAT let unsolicited packets in?), and after those, the first
// question again at that second address (a second observer: is the
// mapping the same for another destination?). Two servers are two
// observers as well, so mapping can be told without RFC 5780 support.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nat/stun.hpp"

namespace crust::stun {

/// What one STUN server told us.
struct server_result {
  ip_endpoint server;
  std::optional<ip_endpoint> mapped;
  std::chrono::milliseconds rtt{0};
  std::string error; // why there is no mapped address
};

struct nat_report {
  std::vector<server_result> servers;
  /// Where the first server that answered saw us.
  std::optional<ip_endpoint> external;
  /// "none" (no NAT), "endpoint-independent", "endpoint-dependent",
  /// "unknown".
  std::string mapping = "unknown";
  /// "endpoint-independent", "address-dependent",
  /// "address-and-port-dependent", "unknown".
  std::string filtering = "unknown";
  /// For a person: "open", "full-cone", "restricted-cone",
  /// "port-restricted", "cone" (filtering unknown), "symmetric",
  /// "udp-blocked" (no server answered), "unknown" (no servers).
  std::string nat_type = "unknown";
  /// Datagrams that were not an answer we waited for.
  uint64_t ignored = 0;
};

class nat_probe {
public:
  using clock = std::chrono::steady_clock;

  struct datagram {
    std::vector<uint8_t> bytes;
    ip_endpoint to;
  };

  /// `rto` and `sends` are each request's retransmission schedule.
  nat_probe(std::vector<ip_endpoint> servers, clock::duration rto,
            int sends);

  /// The datagrams due at `now`; `deadline` is when to call again.
  std::vector<datagram> poll(clock::time_point now,
                             clock::time_point& deadline);

  /// A datagram that arrived on the probe's socket from `from`.
  void on_datagram(const uint8_t* data, size_t size, const ip_endpoint& from,
                   clock::time_point now);

  /// Every request is answered or given up.
  bool done() const;

  /// The verdict; `local` are the socket's own addresses (a mapped
  /// address among them means there is no NAT).
  nat_report report(const std::vector<ip_endpoint>& local) const;

private:
  enum class kind { primary, second_observer, change_ip_port, change_port };

  struct request {
    request(kind k, size_t s, ip_endpoint t, transaction_id i,
            retransmission r)
      : what(k), server(s), to(std::move(t)), id(i), rtx(r) {
      // nop
    }
    kind what;
    size_t server; // index into servers_ (the one that started it)
    ip_endpoint to;
    transaction_id id;
    std::vector<uint8_t> bytes;
    retransmission rtx;
    clock::time_point first_sent{};
    bool answered = false;
    bool gave_up = false;
    std::optional<binding_response> answer;
    std::chrono::milliseconds rtt{0};
    std::string error;
    /// A change request answered from the address we asked: the server
    /// ignored CHANGE-REQUEST, so the answer says nothing of filtering.
    bool unchanged = false;
  };

  void add(kind what, size_t server, ip_endpoint to, uint8_t change);
  void on_answer(request& r, binding_response answer, const ip_endpoint& from,
                 clock::time_point now);
  const request* find(kind what) const;

  std::vector<ip_endpoint> servers_;
  clock::duration rto_;
  int sends_;
  std::vector<request> requests_;
  bool rfc5780_started_ = false;
  /// The second observer waits for the filtering tests: a request to the
  /// server's other address would open our NAT to the answers they test.
  std::optional<std::pair<size_t, ip_endpoint>> second_observer_;
  uint64_t ignored_ = 0;
};

} // namespace crust::stun
