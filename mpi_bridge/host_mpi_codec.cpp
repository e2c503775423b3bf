#include "host_mpi_codec.hpp"

#include <nlohmann/json.hpp>

namespace cexec::mpi_bridge {

namespace {

using nlohmann::json;

constexpr int format_version = 1;

json from_libraries(const std::vector<HostLibrary>& libs) {
  json out = json::array();
  for (const auto& lib : libs) {
    json needs = json::array();
    for (const auto& n : lib.needs) {
      needs.push_back({n.library, n.version});
    }
    out.push_back({{"path", lib.path}, {"soname", lib.soname}, {"needs", needs}});
  }
  return out;
}

std::vector<HostLibrary> to_libraries(const json& j) {
  std::vector<HostLibrary> out;
  for (const auto& lib : j) {
    HostLibrary l{lib.at("path").get<std::string>(), lib.at("soname").get<std::string>(), {}};
    for (const auto& n : lib.at("needs")) {
      l.needs.push_back(VersionNeed{n.at(0).get<std::string>(), n.at(1).get<std::string>()});
    }
    out.push_back(std::move(l));
  }
  return out;
}

json from_mpi(const MpiLibrary& m) {
  return {{"family", static_cast<int>(m.family)},   {"soname", m.soname},
          {"path", m.path},                          {"file_version", m.file_version.parts},
          {"implementation", m.implementation},      {"implementation_version", m.implementation_version.parts}};
}

MpiLibrary to_mpi(const json& j) {
  MpiLibrary m;
  int family = j.at("family").get<int>();
  if (family < 0 || family > static_cast<int>(MpiFamily::mpich)) {
    throw std::out_of_range("family");
  }
  m.family = static_cast<MpiFamily>(family);
  m.soname = j.at("soname").get<std::string>();
  m.path = j.at("path").get<std::string>();
  m.file_version.parts = j.at("file_version").get<std::vector<int>>();
  m.implementation = j.at("implementation").get<std::string>();
  m.implementation_version.parts = j.at("implementation_version").get<std::vector<int>>();
  return m;
}

json from_env(const std::vector<EnvOp>& ops) {
  json out = json::array();
  for (const auto& op : ops) {
    out.push_back({static_cast<int>(op.kind), op.name, op.value});
  }
  return out;
}

std::vector<EnvOp> to_env(const json& j) {
  std::vector<EnvOp> out;
  for (const auto& op : j) {
    int kind = op.at(0).get<int>();
    if (kind < 0 || kind > static_cast<int>(EnvOpKind::prepend_path)) {
      throw std::out_of_range("env kind");
    }
    out.push_back(EnvOp{static_cast<EnvOpKind>(kind), op.at(1).get<std::string>(), op.at(2).get<std::string>()});
  }
  return out;
}

}  // namespace

std::string encode_host_mpi(const std::optional<HostMpi>& host) {
  json j = {{"format", format_version}};
  if (host) {
    j["host"] = {{"origin", host->origin},
                 {"mpi", from_mpi(host->mpi)},
                 {"libraries", from_libraries(host->libraries)},
                 {"plugins", from_libraries(host->plugins)},
                 {"plugin_dirs", host->plugin_dirs},
                 {"binds", host->binds},
                 {"env", from_env(host->env)},
                 {"problems", host->problems}};
  }
  return j.dump();
}

std::optional<std::optional<HostMpi>> decode_host_mpi(std::string_view text) {
  try {
    json j = json::parse(text);
    if (j.at("format").get<int>() != format_version) {
      return std::nullopt;
    }
    if (!j.contains("host")) {
      return std::optional<HostMpi>();
    }
    const json& h = j.at("host");
    HostMpi host;
    host.origin = h.at("origin").get<std::string>();
    host.mpi = to_mpi(h.at("mpi"));
    host.libraries = to_libraries(h.at("libraries"));
    host.plugins = to_libraries(h.at("plugins"));
    host.plugin_dirs = h.at("plugin_dirs").get<std::vector<std::string>>();
    host.binds = h.at("binds").get<std::vector<std::pair<std::string, std::string>>>();
    host.env = to_env(h.at("env"));
    host.problems = h.at("problems").get<std::vector<std::string>>();
    return std::optional<HostMpi>(std::move(host));
  } catch (const std::exception&) {
    return std::nullopt;  // not JSON, or not this structure
  }
}

}  // namespace cexec::mpi_bridge
