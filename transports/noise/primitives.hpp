// The Noise primitives crust uses, on libsodium: X25519, ChaChaPoly (IETF,
// 96-bit nonce = 32 zero bits + 64-bit little-endian counter) and BLAKE2b
// (HASHLEN 64, BLOCKLEN 128) with HMAC and HKDF as the Noise spec defines
// them (revision 34, sections 4 and 5).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace crust::noise {

constexpr size_t dh_len = 32;
constexpr size_t key_len = 32;
constexpr size_t hash_len = 64;
constexpr size_t block_len = 128;
constexpr size_t tag_len = 16;
/// Largest Noise message, handshake or transport.
constexpr size_t max_message_len = 65535;

using key = std::array<uint8_t, key_len>;
using digest = std::array<uint8_t, hash_len>;

struct keypair {
  key secret{};
  key pub{};
  /// A fresh key pair from libsodium's CSPRNG.
  static keypair generate();
  /// The pair whose secret is `secret` (test vectors fix ephemerals).
  static keypair from_secret(const key& secret);
};

/// X25519(secret, pub); false when the result is all zeros (a low-order
/// point: the peer tried to force a known shared secret).
bool dh(const key& secret, const key& pub, key& out);

digest hash(const uint8_t* data, size_t len);

digest hmac(const uint8_t* k, size_t klen, const uint8_t* data, size_t len);

/// HKDF with two or three outputs (the third only when `out3` is set).
void hkdf(const digest& chaining_key, const uint8_t* ikm, size_t ikm_len,
          digest& out1, digest& out2, digest* out3 = nullptr);

/// Appends ciphertext and tag of `plain` to `out`.
void encrypt(const key& k, uint64_t nonce, const uint8_t* ad, size_t ad_len,
             const uint8_t* plain, size_t len, std::vector<uint8_t>& out);

/// Encrypts the `len` bytes at `data` where they are and writes the tag
/// behind them (room for len + tag_len bytes).
void encrypt_in_place(const key& k, uint64_t nonce, const uint8_t* ad,
                      size_t ad_len, uint8_t* data, size_t len);

/// Opens `len` bytes (ciphertext and tag) where they are: the plaintext
/// takes the first len - tag_len bytes. False on a bad tag.
bool decrypt_in_place(const key& k, uint64_t nonce, const uint8_t* ad,
                      size_t ad_len, uint8_t* data, size_t len);

/// Appends the plaintext of `cipher` (tag included) to `out`; false when
/// the tag does not verify (nothing is appended then).
bool decrypt(const key& k, uint64_t nonce, const uint8_t* ad, size_t ad_len,
             const uint8_t* cipher, size_t len, std::vector<uint8_t>& out);

/// Overwrites secrets so they do not linger in freed memory.
template <size_t N>
void wipe(std::array<uint8_t, N>& x);

} // namespace crust::noise
