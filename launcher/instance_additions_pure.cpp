#include "instance_additions.hpp"

#include <optional>

namespace cexec {

namespace {

// Generated files are staged flat, under names that cannot collide with passwd and group.
std::string staged_name(size_t index) { return "host-" + std::to_string(index); }

std::vector<GeneratedFile> all_files(const InstanceAdditions& a, const std::string& env_text) {
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

void InstanceAdditions::append(InstanceAdditions other) {
  for (auto& m : other.mounts) {
    mounts.push_back(std::move(m));
  }
  for (auto& f : other.files) {
    files.push_back(std::move(f));
  }
  for (auto& e : other.env) {
    env.push_back(std::move(e));
  }
  for (auto& n : other.notices) {
    notices.push_back(std::move(n));
  }
}

Result<std::vector<GeneratedFile>> additions_files(const InstanceAdditions& additions) {
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

Result<std::vector<MountOp>> additions_mounts(const InstanceAdditions& additions) {
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

}  // namespace cexec
