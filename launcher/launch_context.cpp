#include "launch_context.hpp"

#include "base/environment.hpp"

#include <charconv>

namespace cexec {

namespace {

std::optional<int> to_int(std::optional<std::string_view> text) {
  if (!text || text->empty()) {
    return std::nullopt;
  }
  int value = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || p != text->data() + text->size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

// The first variable of `names` that holds a number.
std::optional<int> first_int(const std::vector<std::string>& environ, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (auto v = to_int(try_environ_value(environ, n))) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<int> slurm_local_size(const std::vector<std::string>& environ) {
  auto node = to_int(try_environ_value(environ, "SLURM_NODEID"));
  auto counts_text = try_environ_value(environ, "SLURM_STEP_TASKS_PER_NODE");
  if (!counts_text) {
    counts_text = try_environ_value(environ, "SLURM_TASKS_PER_NODE");
  }
  if (!counts_text) {
    return std::nullopt;
  }
  auto counts = parse_tasks_per_node(*counts_text);
  if (!counts) {
    return std::nullopt;
  }
  size_t index = node ? static_cast<size_t>(*node) : 0;
  if (index >= counts.value().size()) {
    return std::nullopt;
  }
  return counts.value()[index];
}

}  // namespace

Result<std::vector<int>> parse_tasks_per_node(std::string_view text) {
  std::vector<int> out;
  auto bad = [&] { return Failure{ErrorKind::usage, "tasks per node `" + std::string(text) + "`: malformed"}; };
  constexpr int max_nodes = 1 << 20;  // far beyond any machine; bounds what a bad value allocates
  if (text.empty() || text.back() == ',') {
    return bad();
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? text.size() : comma + 1;
    int count = 0;
    int repeat = 1;
    size_t paren = item.find('(');
    std::string_view number = item.substr(0, paren);
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc{} || p != number.data() + number.size() || number.empty() || count < 0) {
      return bad();
    }
    if (paren != std::string_view::npos) {
      std::string_view rep = item.substr(paren);
      if (rep.size() < 4 || rep.substr(0, 2) != "(x" || rep.back() != ')') {
        return bad();
      }
      rep = rep.substr(2, rep.size() - 3);
      auto [q, ec2] = std::from_chars(rep.data(), rep.data() + rep.size(), repeat);
      if (ec2 != std::errc{} || q != rep.data() + rep.size() || repeat <= 0) {
        return bad();
      }
    }
    if (out.size() + static_cast<size_t>(repeat) > max_nodes) {
      return bad();
    }
    out.insert(out.end(), static_cast<size_t>(repeat), count);
  }
  if (out.empty()) {
    return bad();
  }
  return out;
}

namespace {

// One identity the launcher exported, as "kind:value", and the variables it came from.
struct Identity {
  std::string text;
  std::string source;
};

struct Identities {
  std::optional<Identity> slurm_step, pmix, ompi, pmi_port;
};

Identities read_identities(const std::vector<std::string>& env) {
  Identities ids;
  auto slurm_job = try_environ_value(env, "SLURM_JOB_ID");
  auto slurm_step = try_environ_value(env, "SLURM_STEP_ID");
  // SLURM_JOB_ID alone (an salloc shell, a batch script) names an allocation, not a job step.
  if (slurm_job && slurm_step) {
    ids.slurm_step = Identity{"slurm:" + std::string(*slurm_job) + "." + std::string(*slurm_step),
                              "SLURM_JOB_ID+SLURM_STEP_ID"};
  }
  if (auto ns = try_environ_value(env, "PMIX_NAMESPACE")) {
    ids.pmix = Identity{"pmix:" + std::string(*ns), "PMIX_NAMESPACE"};
  }
  if (auto jobid = try_environ_value(env, "OMPI_MCA_ess_base_jobid")) {
    ids.ompi = Identity{"ompi:" + std::string(*jobid) + ":" +
                            std::string(try_environ_value(env, "OMPI_MCA_orte_hnp_uri").value_or("")),
                        "OMPI_MCA_ess_base_jobid+OMPI_MCA_orte_hnp_uri"};
  }
  if (auto port = try_environ_value(env, "PMI_PORT")) {
    ids.pmi_port = Identity{"pmi:" + std::string(*port), "PMI_PORT"};
  }
  return ids;
}

std::string detect_launcher(const std::vector<std::string>& env) {
  // The innermost launcher wins: an MPI launcher's variables over SLURM's (Hydra's ranks started
  // inside an allocation inherit SLURM_* of the allocation or of the step that runs the proxies).
  if (try_environ_value(env, "OMPI_COMM_WORLD_RANK")) {
    return "openmpi";
  }
  if (try_environ_value(env, "MPI_LOCALRANKID")) {
    return "hydra";
  }
  if (try_environ_value(env, "SLURM_JOB_ID")) {
    return "slurm";
  }
  if (try_environ_value(env, "PMIX_RANK")) {
    return "pmix";
  }
  if (try_environ_value(env, "PMI_RANK")) {
    return "pmi";
  }
  return "none";
}

// The identity every node of the job sees the same, by launcher (the table in the header).
std::optional<Identity> job_identity(const std::string& launcher, const Identities& ids) {
  if (launcher == "openmpi") {
    return ids.ompi ? ids.ompi : ids.pmix;
  }
  if (launcher == "slurm" || launcher == "hydra") {
    return ids.slurm_step;
  }
  if (launcher == "pmix") {
    return ids.pmix;
  }
  return std::nullopt;
}

}  // namespace

LaunchContext read_launch_context(const std::vector<std::string>& env, pid_t parent_pid,
                                  std::string_view explicit_instance) {
  LaunchContext c;
  c.launcher = detect_launcher(env);
  Identities ids = read_identities(env);
  if (!explicit_instance.empty()) {
    c.node_share = "instance:" + std::string(explicit_instance);
    c.node_share_source = "--instance";
    c.job = c.node_share;
    c.job_source = c.node_share_source;
  } else {
    for (const auto& id : {ids.slurm_step, ids.pmix, ids.ompi, ids.pmi_port}) {
      if (id) {
        c.node_share += (c.node_share.empty() ? "" : "|") + id->text;
        c.node_share_source += (c.node_share_source.empty() ? "" : ", ") + id->source;
      }
    }
    if (c.node_share.empty()) {
      c.node_share = "ppid:" + std::to_string(parent_pid);
      c.node_share_source = "parent pid";
    }
    if (auto id = job_identity(c.launcher, ids)) {
      c.job = id->text;
      c.job_source = id->source;
    }
  }

  c.rank = first_int(env, {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"});
  c.size = first_int(env, {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"});
  c.local_rank = first_int(env, {"OMPI_COMM_WORLD_LOCAL_RANK", "PMIX_LOCAL_RANK", "MPI_LOCALRANKID",
                                 "PMI_LOCAL_RANK", "SLURM_LOCALID"});
  c.local_size = first_int(env, {"OMPI_COMM_WORLD_LOCAL_SIZE", "PMIX_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMI_LOCAL_SIZE"});
  if (!c.local_size) {
    c.local_size = slurm_local_size(env);
  }
  c.node_id = to_int(try_environ_value(env, "SLURM_NODEID"));
  return c;
}

}  // namespace cexec
