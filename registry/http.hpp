// HTTP(S) GETs through libcurl, which is loaded on first use (dlopen of libcurl.so.4) so that the
// cexec binary every rank maps keeps glibc as its only shared dependency (`ldd build/cexec`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cexec::registry {

struct HttpResponse {
  long status = 0;                  // 0: no answer (see error)
  std::string error;                // libcurl's reason when the transfer failed
  std::string content_type;
  std::string www_authenticate;
  std::string docker_content_digest;
  std::string body;                 // get(): up to the limit
  bool body_truncated = false;
};

// Receives a body's bytes in order with the response's status (200, or 206 for a range); returns
// false to stop the transfer.
using BodySink = std::function<bool(long status, std::string_view bytes)>;

class Http {
 public:
  // Throws Error(host_unsupported) when libcurl cannot be loaded.
  Http();
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // `headers` are full lines ("Accept: ..."); redirects are followed (to http or https only).
  HttpResponse get(const std::string& url, const std::vector<std::string>& headers, size_t body_limit);
  // The body goes to `sink` when the status is 200 or 206, else (an error page) into `body`.
  HttpResponse get_to(const std::string& url, const std::vector<std::string>& headers, const BodySink& sink);

 private:
  HttpResponse perform(const std::string& url, const std::vector<std::string>& headers, const BodySink& sink,
                       size_t body_limit);
  void* _curl = nullptr;
};

}  // namespace cexec::registry
