#include "instance_key.hpp"

#include "base/sha256.hpp"

namespace cexec {

namespace {

// "name=<length>:<value>\n": lengths make the text unambiguous whatever the values contain.
void add_field(std::string& text, std::string_view name, std::string_view value) {
  text += std::string(name) + "=" + std::to_string(value.size()) + ":" + std::string(value) + "\n";
}

}  // namespace

InstanceKey make_instance_key(std::string_view hostname, const LaunchContext& context, const ImageIdentity& image,
                              const LaunchPlan& plan, std::string_view secret) {
  std::string t = "cexec-instance-v2\n";
  add_field(t, "uid", std::to_string(plan.user.uid));
  add_field(t, "gid", std::to_string(plan.user.gid));
  add_field(t, "user", plan.user.name);
  add_field(t, "home", plan.user.home);
  add_field(t, "host", hostname);
  add_field(t, "job", context.node_share);
  add_field(t, "image", plan.image);
  add_field(t, "image-id", std::to_string(image.device) + "/" + std::to_string(image.inode) + "/" +
                               std::to_string(image.size) + "/" + std::to_string(image.mtime_ns) + "/" +
                               std::to_string(image.offset));
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
  // Keyed by the user's rendezvous secret (rendezvous.hpp): another user, who can list abstract
  // socket names but not read the secret, can neither predict this name nor take it first.
  key.socket_name = "cexec." + std::to_string(plan.user.uid) + "." + sha256_hex(std::string(secret) + '\n' + t).substr(0, 32);
  key.text = std::move(t);
  return key;
}

}  // namespace cexec
