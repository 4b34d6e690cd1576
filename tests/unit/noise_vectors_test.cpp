// crust's Noise against the cacophony test vectors (public domain): every
// vector of the 15 fundamental patterns over 25519/ChaChaPoly/BLAKE2b,
// byte for byte, handshake and transport messages, and the handshake hash.
#define CAF_SUITE noise_vectors
#include <caf/test/unit_test.hpp>

#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "transports/noise/handshake.hpp"

using namespace crust::noise;
using json = nlohmann::json;

namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

key to_key(const std::string& hex) {
  auto bytes = unhex(hex);
  key k{};
  std::copy(bytes.begin(), bytes.end(), k.begin());
  return k;
}

handshake_config side(const json& v, const pattern* pat, bool initiator) {
  std::string p = initiator ? "init_" : "resp_";
  handshake_config cfg;
  cfg.pat = pat;
  cfg.initiator = initiator;
  cfg.prologue = unhex(v.value(p + "prologue", ""));
  if (v.contains(p + "static"))
    cfg.s = keypair::from_secret(to_key(v[p + "static"]));
  if (v.contains(p + "ephemeral"))
    cfg.e = keypair::from_secret(to_key(v[p + "ephemeral"]));
  if (v.contains(p + "remote_static"))
    cfg.rs = to_key(v[p + "remote_static"]);
  return cfg;
}

// Runs one vector; returns an empty string or what went wrong.
std::string run_vector(const json& v, const pattern* pat) {
  handshake_state init{side(v, pat, true)};
  handshake_state resp{side(v, pat, false)};
  std::optional<std::pair<cipher_state, cipher_state>> ic, rc;
  size_t i = 0;
  for (auto& m : v["messages"]) {
    auto payload = unhex(m["payload"]);
    auto expected = unhex(m["ciphertext"]);
    bool from_init = pat->one_way || i % 2 == 0;
    std::vector<uint8_t> wire, got;
    if (!init.finished() || !resp.finished()) {
      auto& tx = from_init ? init : resp;
      auto& rx = from_init ? resp : init;
      if (!tx.write_message(payload.data(), payload.size(), wire))
        return "message " + std::to_string(i) + ": write failed";
      if (wire != expected)
        return "message " + std::to_string(i) + ": ciphertext differs";
      if (!rx.read_message(wire.data(), wire.size(), got))
        return "message " + std::to_string(i) + ": read failed";
    } else {
      if (!ic) {
        if (init.handshake_hash() != resp.handshake_hash())
          return "handshake hashes differ between the two sides";
        if (v.contains("handshake_hash")) {
          auto hh = unhex(v["handshake_hash"]);
          if (!std::equal(hh.begin(), hh.end(), init.handshake_hash().begin()))
            return "handshake hash differs from the vector";
        }
        ic = init.split();
        rc = resp.split();
      }
      auto& tx = from_init ? ic->first : rc->second;
      auto& rx = from_init ? rc->first : ic->second;
      tx.encrypt_with_ad(nullptr, 0, payload.data(), payload.size(), wire);
      if (wire != expected)
        return "transport message " + std::to_string(i) + ": ciphertext differs";
      if (!rx.decrypt_with_ad(nullptr, 0, wire.data(), wire.size(), got))
        return "transport message " + std::to_string(i) + ": decrypt failed";
    }
    if (got != payload)
      return "message " + std::to_string(i) + ": payload differs";
    ++i;
  }
  return {};
}

json load_vectors() {
  std::ifstream in{CRUST_TEST_VECTORS_DIR "/noise-25519-chachapoly-blake2b.json"};
  CAF_REQUIRE(in.good());
  return json::parse(in)["vectors"];
}

} // namespace

CAF_TEST(every fundamental pattern matches the cacophony vectors) {
  std::regex name{"^Noise_([A-Z]+)_25519_ChaChaPoly_BLAKE2b$"};
  size_t checked = 0;
  std::set<std::string> seen;
  for (auto& v : load_vectors()) {
    std::smatch m;
    std::string proto = v["protocol_name"];
    if (!std::regex_match(proto, m, name))
      continue; // psk and deferred patterns are not crust's
    auto pat = find_pattern(m[1]);
    if (pat == nullptr)
      continue;
    auto err = run_vector(v, pat);
    if (!err.empty())
      CAF_FAIL(proto << ": " << err);
    seen.insert(pat->name);
    ++checked;
  }
  CAF_MESSAGE(checked << " vectors of " << seen.size() << " patterns");
  CAF_CHECK_EQUAL(seen.size(), 15u);
  CAF_CHECK(seen.count("XX") == 1 && seen.count("IK") == 1);
}

CAF_TEST(a flipped bit in any handshake message fails the handshake) {
  auto pat = find_pattern("XX");
  for (size_t which = 0; which < 3; ++which) {
    handshake_config ci{pat, true, {'p'}, keypair::generate(), {}, {}};
    handshake_config cr{pat, false, {'p'}, keypair::generate(), {}, {}};
    handshake_state init{ci}, resp{cr};
    bool failed = false;
    for (size_t i = 0; i < 3 && !failed; ++i) {
      auto& tx = i % 2 == 0 ? init : resp;
      auto& rx = i % 2 == 0 ? resp : init;
      std::vector<uint8_t> wire, got;
      CAF_REQUIRE(tx.write_message(nullptr, 0, wire));
      if (i == which)
        wire[wire.size() / 2] ^= 0x01;
      failed = !rx.read_message(wire.data(), wire.size(), got);
    }
    CAF_CHECK(failed);
  }
}

CAF_TEST(a different prologue fails the handshake) {
  auto pat = find_pattern("XX");
  handshake_state init{{pat, true, {'a'}, keypair::generate(), {}, {}}};
  handshake_state resp{{pat, false, {'b'}, keypair::generate(), {}, {}}};
  std::vector<uint8_t> m1, m2, got;
  CAF_REQUIRE(init.write_message(nullptr, 0, m1));
  CAF_REQUIRE(resp.read_message(m1.data(), m1.size(), got));
  CAF_REQUIRE(resp.write_message(nullptr, 0, m2));
  CAF_CHECK(!init.read_message(m2.data(), m2.size(), got));
}

CAF_TEST(a low order ephemeral key is refused) {
  auto pat = find_pattern("XX");
  handshake_state resp{{pat, false, {}, keypair::generate(), {}, {}}};
  std::vector<uint8_t> m1(32, 0), got; // the all-zero point
  CAF_CHECK(resp.read_message(m1.data(), m1.size(), got));
  std::vector<uint8_t> m2;
  CAF_CHECK(!resp.write_message(nullptr, 0, m2)); // ee with a zero point
}

CAF_TEST(out of turn and truncated messages fail) {
  auto pat = find_pattern("XX");
  handshake_state init{{pat, true, {}, keypair::generate(), {}, {}}};
  std::vector<uint8_t> out, got;
  CAF_CHECK(!init.read_message(out.data(), 0, got)); // not its turn
  handshake_state resp{{pat, false, {}, keypair::generate(), {}, {}}};
  std::vector<uint8_t> short_msg(10, 1);
  CAF_CHECK(!resp.read_message(short_msg.data(), short_msg.size(), got));
  CAF_CHECK(resp.failed());
}

CAF_TEST(rekey changes the key the same way on both sides) {
  cipher_state a, b;
  key k{};
  k[0] = 7;
  a.initialize_key(k);
  b.initialize_key(k);
  a.rekey();
  b.rekey();
  std::vector<uint8_t> wire, got;
  uint8_t msg[] = {'h', 'i'};
  CAF_REQUIRE(a.encrypt_with_ad(nullptr, 0, msg, 2, wire));
  CAF_CHECK(b.decrypt_with_ad(nullptr, 0, wire.data(), wire.size(), got));
  cipher_state old;
  old.initialize_key(k);
  got.clear();
  CAF_CHECK(!old.decrypt_with_ad(nullptr, 0, wire.data(), wire.size(), got));
}

CAF_TEST(set nonce opens datagrams in any order) {
  crust::noise::key k;
  k.fill(3);
  crust::noise::cipher_state tx, rx;
  tx.initialize_key(k);
  rx.initialize_key(k);
  std::vector<std::vector<uint8_t>> sealed(3);
  const uint8_t msg[] = {'h', 'i'};
  for (auto& s : sealed)
    CAF_REQUIRE(tx.encrypt_with_ad(nullptr, 0, msg, sizeof(msg), s));
  for (uint64_t n : {2u, 0u, 1u}) { // out of order, each with its nonce
    std::vector<uint8_t> plain;
    rx.set_nonce(n);
    CAF_CHECK(rx.decrypt_with_ad(nullptr, 0, sealed[n].data(), sealed[n].size(),
                                 plain));
    CAF_CHECK(plain == std::vector<uint8_t>(msg, msg + sizeof(msg)));
  }
  std::vector<uint8_t> plain;
  rx.set_nonce(1); // the wrong nonce for packet 2
  CAF_CHECK(!rx.decrypt_with_ad(nullptr, 0, sealed[2].data(), sealed[2].size(),
                                plain));
}
