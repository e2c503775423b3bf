#include "http.hpp"

#include "base/error.hpp"
#include "base/test_hooks.hpp"

#include <curl/curl.h>

#include <dlfcn.h>
#include <strings.h>

namespace cexec::registry {

namespace {

// The libcurl entry points cexec uses, resolved once.
struct Curl {
  void* handle = nullptr;
  std::string error;
  CURLcode (*global_init)(long) = nullptr;
  CURL* (*easy_init)() = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
};

template <typename F>
void resolve(Curl& c, F& fn, const char* name) {
  fn = reinterpret_cast<F>(::dlsym(c.handle, name));
  if (fn == nullptr && c.error.empty()) {
    c.error = std::string("symbol ") + name + " missing";
  }
}

const Curl& curl() {
  static const Curl lib = [] {
    Curl c;
    c.handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (c.handle == nullptr) {
      const char* e = ::dlerror();
      c.error = e != nullptr ? e : "dlopen failed";
      return c;
    }
    resolve(c, c.global_init, "curl_global_init");
    resolve(c, c.easy_init, "curl_easy_init");
    resolve(c, c.easy_cleanup, "curl_easy_cleanup");
    resolve(c, c.easy_reset, "curl_easy_reset");
    resolve(c, c.easy_setopt, "curl_easy_setopt");
    resolve(c, c.easy_perform, "curl_easy_perform");
    resolve(c, c.easy_getinfo, "curl_easy_getinfo");
    resolve(c, c.easy_strerror, "curl_easy_strerror");
    resolve(c, c.slist_append, "curl_slist_append");
    resolve(c, c.slist_free_all, "curl_slist_free_all");
    if (c.error.empty() && c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      c.error = "curl_global_init failed";
    }
    if (!c.error.empty()) {
      ::dlclose(c.handle);
      c.handle = nullptr;
    }
    return c;
  }();
  return lib;
}

struct Transfer {
  HttpResponse* response;
  const BodySink* sink;
  size_t limit;
  bool sink_failed = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  long status = t->response->status;
  if (t->sink != nullptr && (status == 200 || status == 206)) {
    if (!(*t->sink)(status, std::string_view(data, bytes))) {
      t->sink_failed = true;
      return 0;  // stops the transfer (CURLE_WRITE_ERROR)
    }
    return bytes;
  }
  size_t room = t->limit > t->response->body.size() ? t->limit - t->response->body.size() : 0;
  if (bytes > room) {
    t->response->body_truncated = true;
    t->response->body.append(data, room);
    return 0;
  }
  t->response->body.append(data, bytes);
  return bytes;
}

// Each header line; a new status line (after a redirect or a 100) starts over.
size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Transfer*>(user)->response;
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  if (line.starts_with("HTTP/")) {
    size_t sp = line.find(' ');
    r->status = sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    r->content_type.clear();
    r->www_authenticate.clear();
    r->docker_content_digest.clear();
    r->body.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return size * n;
  }
  std::string name(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (::strcasecmp(name.c_str(), "content-type") == 0) {
    r->content_type = value;
  } else if (::strcasecmp(name.c_str(), "www-authenticate") == 0) {
    r->www_authenticate = value;
  } else if (::strcasecmp(name.c_str(), "docker-content-digest") == 0) {
    r->docker_content_digest = value;
  }
  return size * n;
}

}  // namespace

Http::Http() {
  const Curl& c = curl();
  if (c.handle == nullptr) {
    throw Error(ErrorKind::host_unsupported, "cannot load libcurl (libcurl.so.4, Debian package libcurl4), which registry pulls need: " + c.error);
  }
  _curl = c.easy_init();
  if (_curl == nullptr) {
    throw Error(ErrorKind::internal, "curl_easy_init failed");
  }
}

Http::~Http() {
  curl().easy_cleanup(static_cast<CURL*>(_curl));
}

HttpResponse Http::get(const std::string& url, const std::vector<std::string>& headers, size_t body_limit) {
  return perform(url, headers, nullptr, body_limit);
}

HttpResponse Http::get_to(const std::string& url, const std::vector<std::string>& headers, const BodySink& sink) {
  return perform(url, headers, sink, 64 << 10);
}

HttpResponse Http::perform(const std::string& url, const std::vector<std::string>& headers, const BodySink& sink,
                           size_t body_limit) {
  const Curl& c = curl();
  CURL* h = static_cast<CURL*>(_curl);
  c.easy_reset(h);  // the connection cache survives a reset: one connection serves a whole pull
  HttpResponse response;
  Transfer transfer{&response, sink ? &sink : nullptr, body_limit};
  curl_slist* list = nullptr;
  for (const auto& line : headers) {
    list = c.slist_append(list, line.c_str());
  }
  char error[CURL_ERROR_SIZE] = "";
  c.easy_setopt(h, CURLOPT_URL, url.c_str());
  c.easy_setopt(h, CURLOPT_HTTPHEADER, list);
  c.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  c.easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  c.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 KiB/s for 60 s) fails instead of hanging a job.
  c.easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  c.easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  c.easy_setopt(h, CURLOPT_USERAGENT, "cexec");
  if (long long rate = test_hooks::pull_rate(); rate > 0) {
    c.easy_setopt(h, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(rate));
  }
  c.easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  c.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  c.easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  c.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  c.easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  CURLcode rc = c.easy_perform(h);
  c.slist_free_all(list);
  if (rc == CURLE_WRITE_ERROR && response.body_truncated && !transfer.sink_failed) {
    return response;  // an error page longer than wanted: what was read is enough
  }
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && transfer.sink_failed)) {
    response.error = error[0] != '\0' ? error : c.easy_strerror(rc);
    response.status = 0;
  } else if (transfer.sink_failed) {
    response.error = "the download was stopped";
    response.status = 0;
  }
  return response;
}

}  // namespace cexec::registry
