// SHA-256, incremental, through nettle (Debian's nettle-dev; audited and faster than a hand-written
// one): the image digest `cexec build` prints and `cexec inspect` recomputes, and the node
// instance's rendezvous name. Pure.
#pragma once

#include <nettle/sha2.h>
#include <string>
#include <string_view>

namespace cexec {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // "sha256:<64 lowercase hex>"; call once, after the last update.
  std::string hex_digest();

 private:
  sha256_ctx _ctx;
};

// The 64 lowercase hex digits of SHA-256(data).
std::string sha256_hex(std::string_view data);

}  // namespace cexec
