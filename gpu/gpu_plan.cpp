#include "gpu_plan.hpp"

#include <algorithm>

namespace cexec::gpu {

namespace {

MountOp read_only_bind(const std::string& source, const std::string& destination) {
  MountOp op;
  op.kind = MountKind::bind;
  op.source = source;
  op.destination = destination;
  op.read_only = true;
  op.restrict = true;  // nosuid, nodev: driver files need neither
  return op;
}

bool covered(const std::vector<MountOp>& mounts, const std::string& path) {
  return std::any_of(mounts.begin(), mounts.end(), [&](const MountOp& m) {
    return m.kind == MountKind::bind && is_path_under(path, m.destination);
  });
}

bool under_tmpfs(const std::vector<MountOp>& mounts, const std::string& path) {
  return std::any_of(mounts.begin(), mounts.end(), [&](const MountOp& m) {
    return m.kind == MountKind::tmpfs && is_path_under(path, m.destination);
  });
}

std::string base_of(const std::string& soname) {
  size_t so = soname.find(".so");
  return so == std::string::npos ? soname : soname.substr(0, so);
}

}  // namespace

GpuPlan plan_gpu_additions(const GpuPlanInputs& in) {
  GpuPlan out;
  std::string manifest;
  bool any_library = false;
  bool any_binary = false;
  for (const auto& v : in.vendors) {
    if (!v.present) {
      continue;
    }
    std::string vendor(vendor_name(v.vendor));
    for (const auto& lib : v.libraries) {
      std::vector<std::string> names{lib.name};
      if (wants_unversioned_alias(base_of(lib.name)) && lib.name != base_of(lib.name) + ".so") {
        names.push_back(base_of(lib.name) + ".so");
      }
      for (const auto& name : names) {
        out.mounts.push_back(read_only_bind(lib.host_path, std::string(container_lib_dir) + "/" + name));
        manifest += vendor + " library " + std::string(container_lib_dir) + "/" + name + " " + lib.host_path + "\n";
      }
      any_library = true;
    }
    for (const auto& bin : v.binaries) {
      out.mounts.push_back(read_only_bind(bin.host_path, std::string(container_bin_dir) + "/" + bin.name));
      manifest += vendor + " binary " + std::string(container_bin_dir) + "/" + bin.name + " " + bin.host_path + "\n";
      any_binary = true;
    }
    for (const auto& icd : v.icd) {
      out.mounts.push_back(read_only_bind(icd.host_path, icd.name));
      manifest += vendor + " icd " + icd.name + " " + icd.host_path + "\n";
    }
    for (const auto& sock : v.sockets) {
      if (covered(in.existing_mounts, sock.name)) {
        // Inside a host tree bound already (such as /tmp): the real one is visible as it is, and
        // no mount point can be made there for another (a test host root's) copy.
        manifest += vendor + " socket " + sock.name + (in.host_root == "/" ? " (visible through an existing bind)\n" : " (under an existing bind: not bound)\n");
        continue;
      }
      if (under_tmpfs(in.existing_mounts, sock.name)) {
        // A private tmpfs (--contain) holds nothing of the host's, and cexec creates no mount
        // points inside it; the daemon's clients then run without it.
        out.notices.push_back("info: gpu: " + sock.name + " not shared: it lies in a private tmpfs (--contain)");
        continue;
      }
      MountOp op = read_only_bind(sock.host_path, sock.name);
      op.read_only = false;  // clients connect to the socket (and MPS creates pipes in its directory)
      op.optional = true;    // the daemon may remove it between discovery and binding
      out.mounts.push_back(op);
      manifest += vendor + " socket " + sock.name + " " + sock.host_path + "\n";
    }
    for (const auto& dev : v.devices) {
      // The container's /dev is a recursive bind of the host's, so every device node the host has
      // is there already, with the host's permissions; binding it again would change nothing.
      bool visible = in.container_dev_is_host_dev && in.host_root == "/";
      if (!visible && !in.container_dev_is_host_dev) {
        MountOp op = read_only_bind(dev.host_path, dev.name);
        op.read_only = false;
        op.restrict = false;  // a device node needs a mount without nodev
        out.mounts.push_back(op);
      }
      manifest += vendor + " device " + dev.name + " " + dev.host_path + " (" + dev.detail + ")" +
                  (visible ? " visible through /dev" : in.container_dev_is_host_dev ? " not under the host's /dev" : "") +
                  "\n";
    }

    std::string summary = "info: gpu: " + vendor + " driver " + (v.driver ? v.driver->text : std::string("(version unknown)"));
    if (v.driver_cuda) {
      summary += " (CUDA " + v.driver_cuda->text + ")";
    }
    summary += ": " + std::to_string(v.libraries.size()) + " libraries, " + std::to_string(v.binaries.size()) +
               " binaries, " + std::to_string(v.devices.size()) + " devices";
    out.notices.push_back(summary);
    if (v.vendor == Vendor::nvidia &&
        std::none_of(v.libraries.begin(), v.libraries.end(), [](const HostFile& f) { return base_of(f.name) == "libcuda"; })) {
      out.notices.push_back("warn: gpu: the host has an NVIDIA driver but no libcuda.so.1 (" + v.library_source +
                            "): CUDA programs will not find the driver");
    }
    if (v.vendor == Vendor::nvidia && in.image_cuda && v.driver_cuda) {
      if (auto why = cuda_compatibility_problem(in.image_cuda->version, *v.driver_cuda); !why.empty()) {
        out.notices.push_back("warn: gpu: " + why);
      }
    }
  }
  if (any_library) {
    out.env.push_back(EnvOp{EnvOpKind::prepend_path, "LD_LIBRARY_PATH", container_lib_dir});
  }
  if (any_binary) {
    out.env.push_back(EnvOp{EnvOpKind::prepend_path, "PATH", container_bin_dir});
  }
  if (!manifest.empty()) {
    out.files.push_back(GeneratedFile{manifest_file, manifest});
  }
  return out;
}

std::string describe_gpu_check(const GpuPlanInputs& in, const GpuPlan& additions) {
  std::string out;
  if (in.host_root != "/") {
    out += "host root: " + in.host_root + " (test hook)\n";
  }
  for (const auto& v : in.vendors) {
    std::string vendor(vendor_name(v.vendor));
    if (!v.present) {
      out += vendor + ": no driver found\n";
      continue;
    }
    out += vendor + ": driver " + (v.driver ? v.driver->text : std::string("(version unknown)")) + " (found " +
           v.presence_evidence + ")";
    if (v.driver_cuda) {
      out += ", supports CUDA " + v.driver_cuda->text + " (" + v.driver_cuda_source + ")";
    }
    out += "\n";
    for (const auto& f : v.libraries) {
      out += "  library " + f.name + " " + (f.detail.empty() ? "-" : f.detail) + " " + f.host_path + " -> " +
             container_lib_dir + "/" + f.name + "\n";
    }
    for (const auto& f : v.binaries) {
      out += "  binary  " + f.name + " " + f.host_path + " -> " + container_bin_dir + "/" + f.name + "\n";
    }
    for (const auto& f : v.icd) {
      out += "  icd     " + f.name + " " + f.host_path + " -> " + f.name + "\n";
    }
    for (const auto& f : v.sockets) {
      out += "  socket  " + f.name + " " + f.host_path + "\n";
    }
    for (const auto& f : v.devices) {
      out += "  device  " + f.name + " " + f.detail + " " + f.host_path + "\n";
    }
    if (!v.libraries_missing.empty()) {
      out += "  not on this host (" + v.library_source + "):";
      for (const auto& m : v.libraries_missing) {
        out += " " + m;
      }
      out += "\n";
    }
  }
  if (in.image_cuda) {
    out += "image: CUDA runtime " + in.image_cuda->version.text + " (" + in.image_cuda->source + ")\n";
  }
  for (const auto& e : additions.env) {
    out += "environment: prepend " + e.name + "=" + e.value + "\n";
  }
  for (const auto& n : additions.notices) {
    if (n.starts_with("warn: ")) {
      out += "warning: " + n.substr(6) + "\n";
    }
  }
  if (in.image_cuda && std::none_of(additions.notices.begin(), additions.notices.end(),
                                    [](const std::string& n) { return n.starts_with("warn: gpu: the image's CUDA"); })) {
    for (const auto& v : in.vendors) {
      if (v.vendor == Vendor::nvidia && v.present && v.driver_cuda) {
        out += "compatible: the image's CUDA " + major_minor(in.image_cuda->version).text + " runs on a driver supporting CUDA " +
               v.driver_cuda->text + "\n";
      }
    }
  }
  if (std::none_of(in.vendors.begin(), in.vendors.end(), [](const VendorFacts& v) { return v.present; })) {
    out += "nothing to inject: no GPU driver on this host\n";
  }
  return out;
}

}  // namespace cexec::gpu
