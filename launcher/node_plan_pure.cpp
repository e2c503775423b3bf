#include "node_plan.hpp"

#include "loader.hpp"
#include "placement_steps.hpp"

#include <cstdio>
#include <optional>

namespace cexec {

namespace {

// Generated files are staged flat, under names that cannot collide with passwd and group.
std::string staged_name(size_t index) { return "host-" + std::to_string(index); }

std::vector<GeneratedFile> all_files(const NodePlan& a, const std::string& env_text) {
  std::vector<GeneratedFile> files = a.files;
  if (!a.env.empty()) {
    files.push_back(GeneratedFile{"environment", env_text});
  }
  if (!a.notices.empty()) {
    std::string text;
    for (const auto& n : a.notices) {
      text += n + "\n";
    }
    files.push_back(GeneratedFile{"notices", text});
  }
  return files;
}

std::optional<Failure> check_relative(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.find("..") != std::string::npos) {
    return Failure{ErrorKind::internal, "generated file `" + path + "`: not a plain relative path"};
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<GeneratedFile>> additions_files(const NodePlan& additions) {
  auto env_text = format_env_ops(additions.env);
  if (!env_text) {
    return env_text.failure();
  }
  std::vector<GeneratedFile> staged;
  auto files = all_files(additions, env_text.value());
  for (size_t i = 0; i < files.size(); ++i) {
    if (auto bad = check_relative(files[i].path)) {
      return *bad;
    }
    staged.push_back(GeneratedFile{staged_name(i), files[i].content});
  }
  return staged;
}

Result<std::vector<MountOp>> additions_mounts(const NodePlan& additions) {
  auto env_text = format_env_ops(additions.env);
  if (!env_text) {
    return env_text.failure();
  }
  std::vector<MountOp> mounts = additions.mounts;
  auto files = all_files(additions, env_text.value());
  for (size_t i = 0; i < files.size(); ++i) {
    if (auto bad = check_relative(files[i].path)) {
      return *bad;
    }
    MountOp op;
    op.kind = MountKind::generated;
    op.source = staged_name(i);
    op.destination = std::string(instance_host_dir) + "/" + files[i].path;
    op.read_only = true;
    mounts.push_back(std::move(op));
  }
  return mounts;
}

namespace {

void add_mpi(NodePlan& out, const LaunchPlan& plan, const NodeHostFacts& host, const NodeImageFacts& image) {
  if (!host.mpi_wanted) {
    return;
  }
  auto bridge = mpi_bridge::plan_bridge(host.mpi_host, image.mpi, host.mpi_policy, plan.env.host);
  if (!bridge.refusal.empty()) {
    throw Error(ErrorKind::mpi_incompatible, bridge.refusal + " (see `cexec mpi check " + plan.image + "`)");
  }
  out.append(std::move(bridge));
  // The builder logs quietly; -v on the ranks shows this instead (paid once per node).
  char took[96];
  std::snprintf(took, sizeof took, "info: mpi: discovery and verdicts took %.1f ms (once per node)", host.mpi_ms + image.mpi_ms);
  out.notices.emplace_back(took);
  if (!host.mpi_note.empty()) {
    out.notices.push_back("info: mpi: " + host.mpi_note);
  }
}

void add_topology(NodePlan& out, const NodeHostFacts& host) {
  if (!host.machine) {
    out.notices.push_back("warn: placement disabled: " + host.machine_problem);
    return;
  }
  out.files.push_back({topology_file_name, topology::serialize(*host.machine)});
  out.notices.push_back("info: topology " + host.machine->origin + ": " + topology::summary(*host.machine));
}

}  // namespace

NodePlan plan_node(const LaunchPlan& plan, const NodeHostFacts& host, const NodeImageFacts& image) {
  NodePlan out;
  if (host.gpu) {
    gpu::GpuPlanInputs in = *host.gpu;
    in.image_cuda = image.cuda;
    out.append(gpu::plan_gpu_additions(in));
  }
  add_mpi(out, plan, host, image);
  add_topology(out, host);
  out.notices.push_back("info: node plan: " + describe(out));
  return out;
}

std::string describe(const NodePlan& node) {
  return std::to_string(node.mounts.size()) + " binds, " + std::to_string(node.files.size()) + " generated files, " +
         std::to_string(node.env.size()) + " environment operations, " + std::to_string(node.notices.size()) + " notices";
}

gpu::GpuRequest gpu_request(const LaunchPlan& plan) {
  gpu::GpuRequest r;
  r.mode = plan.gpu;
  r.host_root = plan.gpu_host_root;
  r.list_configs = plan.gpu_list_configs;
  r.environ = plan.env.host;
  r.existing_mounts = plan.mounts;
  return r;
}

}  // namespace cexec
