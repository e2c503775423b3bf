// What a registry (or whoever answers in its place) sends, and what users type: image references,
// manifests and indexes, WWW-Authenticate challenges, token answers, error bodies, auth files.
#include "auth.hpp"
#include "fuzz_input.hpp"
#include "manifest.hpp"
#include "reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = cexec::fuzz::as_text(data, size);
  namespace r = cexec::registry;
  if (auto ref = r::parse_reference(text)) {
    // A parsed reference prints as one that parses back to itself.
    auto again = r::parse_reference(ref.value().text());
    if (!again || !(again.value() == ref.value())) {
      __builtin_trap();
    }
  }
  (void)r::parse_manifest(text, "", "amd64");
  (void)r::parse_manifest(text, r::media::docker_list, "arm64");
  if (auto c = r::parse_challenge(text)) {
    (void)r::token_url(*c, "repository:x:pull");
  }
  (void)r::parse_token_response(text);
  (void)r::registry_error_code(text);
  (void)r::find_credentials(text, "127.0.0.1:5000");
  if (auto decoded = r::base64_decode(text)) {
    if (r::base64_decode(r::base64_encode(*decoded)) != decoded) {
      __builtin_trap();
    }
  }
  return 0;
}
