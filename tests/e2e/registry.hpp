// A real OCI registry for the pull tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1
// with a free port, its storage in a temporary folder, optionally behind htpasswd (bcrypt) auth;
// images pushed into it with skopeo from docker-save archives the suite assembles.
#pragma once

#include "harness.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace e2e {

// Runs a shell command line on the host (assembling test inputs); it must succeed.
inline std::string host_sh_out(const std::string& script, const Env& env) {
  auto o = run({"/bin/sh", "-ec", script}, env);
  BOOST_REQUIRE_MESSAGE(o.status == 0, "host command failed: " << script << "\n" << o);
  return o.out;
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, read, released).
inline int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

inline bool port_answers(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

class Registry {
 public:
  // `user`/`password` non-empty: htpasswd auth (bcrypt, made by htpasswd -B).
  Registry(const Env& env, const std::string& user = "", const std::string& password = "") : _env(env), _user(user) {
    _port = free_port();
    std::string auth;
    if (!user.empty()) {
      host_sh_out("htpasswd -Bbn " + user + " " + password + " > " + _dir / "htpasswd", env);
      auth = "auth:\n  htpasswd:\n    realm: cexec-test\n    path: " + _dir / "htpasswd" + "\n";
      _creds = user + ":" + password;
    }
    write_text(_dir / "config.yml", "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\n"
                                    "storage:\n  filesystem:\n    rootdirectory: " + _dir / "storage" +
                                    "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(_port) + "\n" + auth);
    start();
  }
  ~Registry() { stop(); }
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void start() {
    _pid = ::fork();
    BOOST_REQUIRE(_pid >= 0);
    if (_pid == 0) {
      int log = ::open((_dir / "registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execlp("docker-registry", "docker-registry", "serve", (_dir / "config.yml").c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !port_answers(_port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    BOOST_REQUIRE_MESSAGE(port_answers(_port), "docker-registry did not start: " << read_text(_dir / "registry.log"));
  }
  void kill9() { stop(); }
  void stop() {
    if (_pid > 0) {
      ::kill(_pid, SIGKILL);
      ::waitpid(_pid, nullptr, 0);
      _pid = -1;
    }
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(_port); }
  std::string ref(const std::string& repo_tag) const { return "docker://" + host() + "/" + repo_tag; }
  std::string storage() const { return _dir / "storage"; }
  // GETs of a blob the registry answered with content (its access log).
  int blob_downloads(const std::string& digest) const {
    std::istringstream log(read_text(_dir / "registry.log"));
    int n = 0;
    for (std::string line; std::getline(log, line);) {
      n += contains(line, "\"GET /v2/") && contains(line, "/blobs/" + digest) && (contains(line, "\" 200 ") || contains(line, "\" 206 "));
    }
    return n;
  }

  // Pushes a docker-save archive as REPO:TAG.
  void push(const std::string& archive, const std::string& repo_tag) const {
    std::string creds = _creds.empty() ? "" : " --dest-creds " + _creds;
    host_sh_out("skopeo --tmpdir " + _dir.path() + " copy -q --dest-tls-verify=false" + creds + " docker-archive:" + archive + " docker://" +
                    host() + "/" + repo_tag,
                _env);
  }

 private:
  Env _env;
  std::string _user, _creds;
  TempDir _dir;
  int _port = 0;
  pid_t _pid = -1;
};

// A docker-save archive of the given layer folders (bottom first) and image config (whose
// "diff_ids":[] is filled in, as skopeo checks them); the first layer plain, the others gzipped.
inline std::string make_pushable_archive(const std::string& dir, const std::vector<std::string>& layers,
                                         const std::string& config_json, const Env& env) {
  std::string diff_ids, names;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string tar = "layer" + std::to_string(i) + ".tar";
    host_sh_out("cd " + dir + " && tar -C " + layers[i] + " --sort=name -cf " + tar + " .", env);
    std::string sum = host_sh_out("sha256sum " + dir + "/" + tar, env).substr(0, 64);
    diff_ids += std::string(i ? "," : "") + "\"sha256:" + sum + "\"";
    if (i > 0) {
      host_sh_out("cd " + dir + " && gzip -n " + tar, env);
      tar += ".gz";
    }
    names += std::string(i ? "," : "") + "\"" + tar + "\"";
  }
  std::string config = config_json;
  size_t at = config.find("\"diff_ids\":[]");
  BOOST_REQUIRE(at != std::string::npos);
  config.replace(at, 13, "\"diff_ids\":[" + diff_ids + "]");
  write_text(dir + "/config.json", config);
  write_text(dir + "/manifest.json", "[{\"Config\":\"config.json\",\"Layers\":[" + names + "]}]");
  host_sh_out("cd " + dir + " && tar -cf image.tar manifest.json config.json layer*", env);
  return dir + "/image.tar";
}

}  // namespace e2e
