#include "transports/io/udp_fan.hpp"

#include <poll.h>

#include <algorithm>

#include "transports/io/udp_socket.hpp"

namespace crust {

udp_fan_result udp_fan_out(const std::string& host, size_t count,
                           const std::vector<ip_endpoint>& targets,
                           const std::function<std::vector<uint8_t>(size_t)>& hello,
                           std::chrono::milliseconds resend,
                           std::chrono::milliseconds limit,
                           const udp_fan_judge& judge) {
  using clock = std::chrono::steady_clock;
  udp_fan_result result;
  std::vector<pollfd> fds;
  for (size_t i = 0; i < count; ++i) {
    auto fd = udp_bind(host, 0);
    if (!fd)
      break; // out of descriptors or ports: fewer sockets, lower odds
    fds.push_back(pollfd{*fd, POLLIN, 0});
  }
  result.opened = fds.size();
  auto send_all = [&] {
    for (size_t i = 0; i < fds.size(); ++i) {
      auto bytes = hello(i);
      for (auto& t : targets)
        udp_send_to(fds[i].fd, t, bytes.data(), bytes.size());
    }
  };
  auto end = clock::now() + limit;
  auto next_send = clock::now();
  int winner = -1;
  while (winner < 0 && !fds.empty()) {
    auto now = clock::now();
    if (now >= end)
      break;
    if (now >= next_send) {
      send_all();
      next_send = now + resend;
    }
    auto wait = std::min(end, next_send) - clock::now();
    auto ms = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
    if (::poll(fds.data(), fds.size(), static_cast<int>(ms)) <= 0)
      continue;
    for (auto& p : fds) {
      if (winner >= 0 || !(p.revents & POLLIN))
        continue;
      udp_read(p.fd, 16, [&](const ip_endpoint& from, const uint8_t* data,
                             size_t size) {
        if (winner >= 0)
          return;
        auto v = judge(from, data, size);
        if (!v.take)
          return;
        if (!v.answer.empty())
          udp_send_to(p.fd, from, v.answer.data(), v.answer.size());
        winner = p.fd;
        result.from = from;
      });
    }
  }
  for (auto& p : fds)
    if (p.fd != winner)
      udp_close(p.fd);
  result.fd = winner;
  return result;
}

} // namespace crust
