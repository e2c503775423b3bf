#include "commands/commands.hpp"

#include "base/sys/syscalls.hpp"
#include "builder/build_plan.hpp"
#include "builder/builder.hpp"
#include "builder/sandbox.hpp"
#include "host_facts.hpp"
#include "reference.hpp"

#include <cexec/version.hpp>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cexec::build {

namespace {

std::string absolute(const std::string& path) {
  if (path.starts_with('/')) {
    return path;
  }
  char buf[4096];
  if (::getcwd(buf, sizeof buf) == nullptr) {
    sys::throw_errno("getcwd");
  }
  std::string p = path;
  while (p.starts_with("./")) {
    p = p.substr(2);
  }
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return std::string(buf) + (p == "." ? "" : "/" + p);
}

SpecFacts read_spec(const std::string& path) {
  if (registry::is_registry_reference(path)) {
    return SpecFacts{path, SpecKind::registry, ""};
  }
  auto st = sys::try_stat(path);
  if (!st) {
    int err = errno;
    throw Error(ErrorKind::input_missing, "SPEC `" + path + "`: " + std::error_code(err, std::generic_category()).message());
  }
  SpecFacts spec;
  spec.path = path;
  if (S_ISDIR(st->st_mode)) {
    spec.kind = SpecKind::directory;
    return spec;
  }
  sys::Fd fd;
  try {
    fd = sys::open_path(path, O_RDONLY);
  } catch (const SysError& e) {
    throw Error(ErrorKind::input_missing, "SPEC `" + path + "`: " + e.code().message());
  }
  std::string head(512, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  spec.kind = classify_spec_file(head);
  if (spec.kind == SpecKind::definition) {
    spec.definition_text = sys::read_all(fd.get(), 4 << 20);
  }
  return spec;
}

IdentityFacts read_identity(const std::vector<std::string>& env) {
  IdentityFacts who;
  who.uid = ::getuid();
  who.gid = ::getgid();
  if (struct passwd* pw = ::getpwuid(who.uid)) {
    who.user_name = pw->pw_name;
  }
  who.subuid_text = sys::try_read_file("/etc/subuid", 1 << 20).value_or("");
  who.subgid_text = sys::try_read_file("/etc/subgid", 1 << 20).value_or("");
  who.has_newidmap = !find_host_program("newuidmap", env).empty() && !find_host_program("newgidmap", env).empty();
  return who;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace


}  // namespace cexec::build

namespace cexec {

int run_build(const BuildOptions& options_in, const Environ& env) {
  using namespace build;
  BuildOptions options = options_in;
  options.output = absolute(options.output);
  if (!registry::is_registry_reference(options.spec)) {
    options.spec = absolute(options.spec);
  }
  std::vector<std::string> search_env{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"};
  BuildPlan plan = value_or_throw(plan_build(options, read_spec(options.spec), read_identity(search_env), utc_now(), version_string));
  if (plan.definition.bootstrap == Bootstrap::docker) {
    // Only the registry pull reads the admin config (plain-HTTP registries, the shared cache).
    Config config = load_config(env);
    plan.registry = RegistrySettings{config.insecure_registries, config.registry_shared_cache};
  }
  return build::run_build(plan, env);
}

}  // namespace cexec
