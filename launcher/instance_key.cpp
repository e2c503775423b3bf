#include "instance_key.hpp"

#include <cstdio>

namespace cexec {

namespace {

uint64_t fnv1a(std::string_view text, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// "name=<length>:<value>\n": lengths make the text unambiguous whatever the values contain.
void add_field(std::string& text, std::string_view name, std::string_view value) {
  text += std::string(name) + "=" + std::to_string(value.size()) + ":" + std::string(value) + "\n";
}

}  // namespace

InstanceKey make_instance_key(std::string_view hostname, const LaunchContext& context, const ImageIdentity& image,
                              const LaunchPlan& plan) {
  std::string t = "cexec-instance-v2\n";
  add_field(t, "uid", std::to_string(plan.user.uid));
  add_field(t, "gid", std::to_string(plan.user.gid));
  add_field(t, "user", plan.user.name);
  add_field(t, "home", plan.user.home);
  add_field(t, "host", hostname);
  add_field(t, "job", context.node_share);
  add_field(t, "image", plan.image);
  add_field(t, "image-id", std::to_string(image.device) + "/" + std::to_string(image.inode) + "/" +
                               std::to_string(image.size) + "/" + std::to_string(image.mtime_ns));
  add_field(t, "writable", plan.writable ? "1" : "0");
  add_field(t, "writable-tmpfs", plan.writable_tmpfs ? "1" : "0");
  for (const auto& m : plan.mounts) {
    add_field(t, "mount-kind", std::to_string(static_cast<int>(m.kind)));
    add_field(t, "mount-source", m.source);
    add_field(t, "mount-destination", m.destination);
    add_field(t, "mount-flags", std::string(m.read_only ? "ro" : "rw") + (m.restrict ? ",restrict" : "") +
                                    (m.optional ? ",optional" : ""));
  }
  add_field(t, "mpi", plan.mpi_policy);
  add_field(t, "gpu", std::to_string(static_cast<int>(plan.gpu)) + ":" + plan.gpu_host_root);
  for (const auto& [path, text] : plan.gpu_list_configs) {
    add_field(t, "gpu-list", path + "\n" + text);
  }
  for (const auto& g : plan.groups) {
    add_field(t, "group", g.name + ":" + std::to_string(g.gid));
  }
  if (!plan.topology_file.empty()) {  // the instance publishes the topology it loaded (/.cexec/host/topology)
    add_field(t, "topology", plan.topology_file);
  }
  InstanceKey key;
  key.socket_name = "cexec." + std::to_string(plan.user.uid) + "." + hex(fnv1a(t, 0xcbf29ce484222325ULL)) +
                    hex(fnv1a(t, 0x84222325cbf29ce4ULL));
  key.text = std::move(t);
  return key;
}

}  // namespace cexec
