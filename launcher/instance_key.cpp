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

}  // namespace

InstanceKey make_instance_key(std::string_view hostname, const LaunchContext& context, const ImageIdentity& image,
                              const LaunchPlan& plan) {
  std::string t = "cexec-instance-v1\n";
  t += "uid=" + std::to_string(plan.user.uid) + " gid=" + std::to_string(plan.user.gid) + " user=" + plan.user.name + "\n";
  t += "host=" + std::string(hostname) + "\n";
  t += "job=" + context.job_id + "\n";
  t += "image=" + plan.image + " dev=" + std::to_string(image.device) + " ino=" + std::to_string(image.inode) +
       " size=" + std::to_string(image.size) + " mtime=" + std::to_string(image.mtime_ns) + "\n";
  t += std::string("writable=") + (plan.writable ? "1" : "0") + " writable-tmpfs=" + (plan.writable_tmpfs ? "1" : "0") + "\n";
  for (const auto& m : plan.mounts) {
    t += "mount=" + std::to_string(static_cast<int>(m.kind)) + " " + m.source + " " + m.destination +
         (m.read_only ? " ro" : " rw") + (m.restrict ? " restrict" : "") + (m.optional ? " optional" : "") + "\n";
  }
  for (const auto& g : plan.groups) {
    t += "group=" + g.name + ":" + std::to_string(g.gid) + "\n";
  }
  InstanceKey key;
  key.socket_name = "cexec." + std::to_string(plan.user.uid) + "." + hex(fnv1a(t, 0xcbf29ce484222325ULL)) +
                    hex(fnv1a(t, 0x84222325cbf29ce4ULL));
  key.text = std::move(t);
  return key;
}

}  // namespace cexec
