#include "pull.hpp"

#include "auth.hpp"
#include "base/environment.hpp"
#include "base/error.hpp"
#include "http.hpp"
#include "manifest.hpp"
#include "base/sha256.hpp"
#include "base/sys/syscalls.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sys/utsname.h>
#include <thread>

namespace cexec::registry {

namespace {

constexpr int download_attempts = 3;

std::string env_get(const std::vector<std::string>& env, const std::string& name) {
  return std::string(try_environ_value(env, name).value_or(""));
}

std::string this_architecture() {
  struct utsname u {};
  ::uname(&u);
  return oci_architecture(u.machine);
}

// One registry conversation: the base URL, the credentials and the token in use.
class Session {
 public:
  Session(const Reference& ref, const PullOptions& options) : _ref(ref), _options(options) {
    bool insecure = is_loopback_host(ref.host()) ||
                    std::find(options.insecure_registries.begin(), options.insecure_registries.end(), ref.registry) !=
                        options.insecure_registries.end() ||
                    std::find(options.insecure_registries.begin(), options.insecure_registries.end(), ref.host()) !=
                        options.insecure_registries.end();
    _base = std::string(insecure ? "http://" : "https://") + ref.registry + "/v2/" + ref.repository;
  }

  // A small GET (manifests), authenticating when the registry asks.
  HttpResponse get(const std::string& path, std::vector<std::string> headers) {
    HttpResponse r = with_auth([&] { return _http.get(_base + path, add_auth(headers), 4 << 20); });
    return r;
  }

  HttpResponse get_to(const std::string& path, std::vector<std::string> headers, const BodySink& sink) {
    return with_auth([&] { return _http.get_to(_base + path, add_auth(headers), sink); });
  }

  std::string where() const { return _ref.text(); }

  [[noreturn]] void fail_network(const HttpResponse& r, const std::string& what) const {
    throw Error(ErrorKind::registry, "registry " + _ref.registry + ": " + what + ": " + r.error);
  }

  // 401 after authenticating, 404 with the registry's error code, and other statuses.
  [[noreturn]] void fail_status(const HttpResponse& r, const std::string& what) {
    std::string code = registry_error_code(r.body);
    if (r.status == 404 && what == "manifest" && code != "NAME_UNKNOWN") {
      // Registries (distribution 2.8 among them) answer MANIFEST_UNKNOWN for an unknown
      // repository too; its tag list tells the two apart.
      HttpResponse tags = get("/tags/list", {});
      if (tags.status == 404) {
        code = "NAME_UNKNOWN";
      }
    }
    if (r.status == 401 || r.status == 403) {
      throw Error(ErrorKind::registry, _ref.text() + ": unauthorized (" +
                                           (_credentials ? "the credentials for " + _ref.registry + " in `" + _auth_file + "` were refused"
                                                         : "no credentials for " + _ref.registry + " in " + auth_file_hint()) + ")");
    }
    if (code == "NAME_UNKNOWN") {
      throw Error(ErrorKind::input_missing, _ref.text() + ": repository `" + _ref.repository + "` unknown to " + _ref.registry);
    }
    if (code == "MANIFEST_UNKNOWN" || (r.status == 404 && what == "manifest")) {
      throw Error(ErrorKind::input_missing, _ref.text() + ": " + (_ref.digest.empty() ? "tag `" + _ref.tag + "`" : "digest " + _ref.digest) +
                                                " unknown in " + _ref.registry + "/" + _ref.repository);
    }
    throw Error(ErrorKind::registry, _ref.text() + ": " + what + ": the registry answered HTTP " + std::to_string(r.status) +
                                         (code.empty() ? "" : " (" + code + ")"));
  }

 private:
  std::string auth_file_hint() const { return _auth_file.empty() ? "no auth file" : "`" + _auth_file + "`"; }

  std::vector<std::string> add_auth(std::vector<std::string> headers) const {
    if (!_authorization.empty()) {
      headers.push_back(_authorization);
    }
    return headers;
  }

  template <typename F>
  HttpResponse with_auth(F&& request) {
    HttpResponse r = request();
    if (r.status == 401 && !_authenticated) {
      _authenticated = true;
      authenticate(r.www_authenticate);
      r = request();
    }
    return r;
  }

  void load_credentials() {
    _auth_file = auth_file_path(_options.env);
    auto text = _auth_file.empty() ? std::nullopt : sys::try_read_file(_auth_file, 1 << 20);
    if (!text) {
      if (!env_get(_options.env, "REGISTRY_AUTH_FILE").empty()) {
        throw Error(ErrorKind::input_missing, "auth file `" + _auth_file + "` (REGISTRY_AUTH_FILE) cannot be read");
      }
      return;
    }
    auto creds = find_credentials(*text, _ref.registry);
    if (!creds) {
      throw Error(ErrorKind::config, "auth file `" + _auth_file + "`: " + creds.failure().message);
    }
    _credentials = creds.value();
  }

  void authenticate(const std::string& header) {
    load_credentials();
    auto challenge = parse_challenge(header);
    if (!challenge) {
      return;  // the retry fails with 401 and says so
    }
    std::string basic = _credentials ? "Authorization: Basic " + base64_encode(_credentials->user + ":" + _credentials->password) : "";
    if (challenge->scheme == "basic") {
      _authorization = basic;
      return;
    }
    if (challenge->scheme != "bearer" || !challenge->params.count("realm")) {
      return;
    }
    std::string url = token_url(*challenge, "repository:" + _ref.repository + ":pull");
    HttpResponse t = _http.get(url, basic.empty() ? std::vector<std::string>{} : std::vector<std::string>{basic}, 1 << 20);
    if (t.status == 0) {
      fail_network(t, "token endpoint " + challenge->params["realm"]);
    }
    if (t.status != 200) {
      return;  // refused credentials: the retry reports unauthorized
    }
    _authorization = "Authorization: Bearer " + value_or_throw(parse_token_response(t.body));
  }

  const Reference& _ref;
  const PullOptions& _options;
  Http _http;
  std::string _base;
  std::string _authorization;
  bool _authenticated = false;
  std::string _auth_file;
  std::optional<Credentials> _credentials;
};

// Fetches and checks one manifest; stores it in the cache.
ParsedManifest fetch_manifest(Session& s, BlobCache& cache, const std::string& tag_or_digest, const std::string& arch,
                              std::string& digest) {
  HttpResponse r = s.get("/manifests/" + tag_or_digest, {manifest_accept_header()});
  if (r.status == 0) {
    s.fail_network(r, "cannot fetch the manifest");
  }
  if (r.status != 200) {
    s.fail_status(r, "manifest");
  }
  if (r.body_truncated) {
    throw Error(ErrorKind::image_invalid, s.where() + ": the manifest is larger than 4 MiB");
  }
  digest = "sha256:" + sha256_hex(r.body);
  std::string expected = tag_or_digest.starts_with("sha256:") ? tag_or_digest : r.docker_content_digest;
  if (!expected.empty() && expected != digest) {
    throw Error(ErrorKind::image_invalid, s.where() + ": manifest digest mismatch (expected " + expected + ", got " + digest + ")");
  }
  auto parsed = parse_manifest(r.body, r.content_type, arch);
  if (!parsed) {
    throw Error(ErrorKind::image_invalid, s.where() + ": " + parsed.failure().message);
  }
  cache.store(digest, r.body);
  return std::move(parsed).value();
}

// One blob into the cache, resuming a partial download and retrying failed transfers.
void download_blob(Session& s, const Descriptor& blob, PartialBlob& partial, bool verbose) {
  if (partial.size == blob.size) {
    return;  // an earlier pull got every byte but stopped before the check: check it now
  }
  for (int attempt = 1;; ++attempt) {
    if (verbose && partial.size > 0) {
      std::fprintf(stderr, "cexec pull: blob %s: resuming at byte %llu\n", blob.digest.c_str(),
                   static_cast<unsigned long long>(partial.size));
    }
    std::vector<std::string> headers;
    if (partial.size > 0) {
      headers.push_back("Range: bytes=" + std::to_string(partial.size) + "-");
    }
    bool first = true;
    std::string write_error;
    auto sink = [&](long status, std::string_view bytes) {
      if (first && status == 200 && partial.size > 0) {
        partial.restart();  // the registry sent the whole blob
      }
      first = false;
      try {
        sys::write_all(partial.fd.get(), bytes);
      } catch (const SysError& e) {
        write_error = e.what();
        return false;
      }
      partial.hash.update(bytes);
      partial.size += bytes.size();
      return partial.size <= blob.size;  // more than announced: stop, the digest check fails
    };
    HttpResponse r = s.get_to("/blobs/" + blob.digest, headers, sink);
    if (!write_error.empty()) {
      throw Error(ErrorKind::cannot_create, "blob " + blob.digest + ": " + write_error);
    }
    if (r.status == 200 || r.status == 206 || (r.status == 0 && partial.size > blob.size)) {
      return;
    }
    if (r.status == 416) {
      partial.restart();
    } else if (r.status != 0) {
      s.fail_status(r, "blob " + blob.digest);
    }
    if (attempt == download_attempts) {
      s.fail_network(r, "download of blob " + blob.digest + " failed after " + std::to_string(attempt) + " attempts");
    }
    std::this_thread::sleep_for(std::chrono::seconds(attempt));
  }
}

std::string fetch_blob(Session& s, BlobCache& cache, const Descriptor& blob, const PullOptions& options, unsigned& downloaded) {
  auto t0 = std::chrono::steady_clock::now();
  bool fetched = false;
  std::string path;
  try {
    path = cache.fetch(blob, [&](PartialBlob& p) { download_blob(s, blob, p, options.verbose); }, fetched);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::image_invalid) {
      throw;
    }
    throw Error(e.kind(), s.where() + ": " + e.what());
  }
  downloaded += fetched ? 1 : 0;
  if (options.verbose) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "cexec pull: blob %s: %s (%llu bytes, %.3f s)\n", blob.digest.c_str(),
                 fetched ? "downloaded" : "cached", static_cast<unsigned long long>(blob.size), secs);
  }
  return path;
}

}  // namespace

std::string auth_file_path(const std::vector<std::string>& env) {
  if (std::string f = env_get(env, "REGISTRY_AUTH_FILE"); !f.empty()) {
    return f;
  }
  if (std::string d = env_get(env, "DOCKER_CONFIG"); !d.empty()) {
    return d + "/config.json";
  }
  std::string home = env_get(env, "HOME");
  return home.starts_with('/') ? home + "/.docker/config.json" : "";
}

PulledImage pull_image(const Reference& ref, const PullOptions& options) {
  std::string arch = options.architecture.empty() ? this_architecture() : options.architecture;
  BlobCache cache(options.cache);
  Session session(ref, options);
  PulledImage out;
  out.reference = ref.text();
  std::vector<std::string> blobs;
  std::string digest;
  ParsedManifest m = fetch_manifest(session, cache, ref.tag_or_digest(), arch, digest);
  blobs.push_back(digest);
  if (m.is_index) {
    std::string chosen = m.chosen.digest;
    m = fetch_manifest(session, cache, chosen, arch, digest);
    if (m.is_index) {
      throw Error(ErrorKind::image_invalid, ref.text() + ": the index entry for linux/" + arch + " is another index");
    }
    blobs.push_back(digest);
  }
  out.manifest_digest = digest;
  if (options.verbose) {
    std::fprintf(stderr, "cexec pull: %s: manifest %s, %zu layers\n", ref.text().c_str(), digest.c_str(), m.image.layers.size());
  }
  out.config_path = fetch_blob(session, cache, m.image.config, options, out.downloaded);
  blobs.push_back(m.image.config.digest);
  for (const auto& layer : m.image.layers) {
    out.layer_paths.push_back(fetch_blob(session, cache, layer, options, out.downloaded));
    blobs.push_back(layer.digest);
  }
  cache.record_image(ref.text(), out.manifest_digest, blobs, options.pulled_at);
  return out;
}

}  // namespace cexec::registry
