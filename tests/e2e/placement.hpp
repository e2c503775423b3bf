// Reading `cexec plan` and the probe's placement report in the e2e tests: each rank must see the
// CPUs and environment of its row of the plan.
#pragma once

#include "harness.hpp"

#include <map>
#include <sstream>

namespace e2e {

// Variables the probe reports (probe placement NAME...).
inline const std::vector<std::string> placement_vars{"OMP_NUM_THREADS", "OMP_PLACES", "CUDA_VISIBLE_DEVICES",
                                                     "CEXEC_GPU_DEVICE", "CEXEC_NIC", "UCX_NET_DEVICES", "NCCL_IB_HCA"};

struct PlannedRank {
  std::string cpus;                      // as the table prints it
  std::map<std::string, std::string> env;  // from the "env:" line
};

// Parses the text of `cexec plan`: table rows and each rank's env line.
inline std::map<int, PlannedRank> parse_plan(const std::string& text) {
  std::map<int, PlannedRank> out;
  std::istringstream in(text);
  std::string line;
  bool table = false;
  int current = -1;
  while (std::getline(in, line)) {
    if (line.starts_with("rank  package")) {
      table = true;
      continue;
    }
    if (table && !line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
      std::istringstream w(line);
      int rank = 0;
      std::string package, numa, mem, cores, cpus;
      w >> rank >> package >> numa >> mem >> cores >> cpus;
      out[rank].cpus = cpus;
      continue;
    }
    if (line.starts_with("rank ") && line.back() == ':') {
      table = false;
      current = std::stoi(line.substr(5));
      continue;
    }
    if (current >= 0 && line.starts_with("  env: ")) {
      std::istringstream w(line.substr(7));
      std::string item;
      while (w >> item) {
        auto eq = item.find('=');
        if (eq == std::string::npos) {
          continue;
        }
        std::string name = item.substr(0, eq);
        if (name.ends_with("?")) {
          name.pop_back();
        }
        out[current].env[name] = item.substr(eq + 1);
      }
    }
  }
  return out;
}

// Parses the probe's report, one rank per prefix: "PREFIX cpus LIST" and "PREFIX env NAME=VALUE".
// `rank_of` turns a line into {rank, rest} (mpirun --tag-output, srun --label).
template <typename F>
std::map<int, PlannedRank> parse_probe(const std::string& text, F rank_of) {
  std::map<int, PlannedRank> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto [rank, rest] = rank_of(line);
    if (rank < 0) {
      continue;
    }
    if (rest.starts_with("cpus ")) {
      out[rank].cpus = rest.substr(5);
    } else if (rest.starts_with("env ") && rest.find('=') != std::string::npos) {
      auto eq = rest.find('=');
      out[rank].env[rest.substr(4, eq - 4)] = rest.substr(eq + 1);
    }
  }
  return out;
}

// Every rank saw the CPUs (when `check_cpus`) and the environment of its row of the plan.
inline void expect_matches_plan(const std::map<int, PlannedRank>& seen, const std::map<int, PlannedRank>& planned,
                                bool check_cpus) {
  BOOST_TEST(seen.size() == planned.size());
  for (const auto& [rank, row] : planned) {
    BOOST_TEST_CONTEXT("rank " << rank) {
      auto it = seen.find(rank);
      BOOST_TEST_REQUIRE((it != seen.end()));
      if (check_cpus) {
        BOOST_TEST(it->second.cpus == row.cpus);
      }
      for (const auto& name : placement_vars) {
        auto want = row.env.find(name);
        auto got = it->second.env.find(name);
        if (want == row.env.end()) {
          BOOST_TEST((got == it->second.env.end()), name << " set to " << got->second << " but not planned");
        } else {
          BOOST_TEST((got != it->second.env.end()), name << " planned but unset");
          if (got != it->second.env.end()) {
            BOOST_TEST(got->second == want->second, name);
          }
        }
      }
    }
  }
}

}  // namespace e2e
