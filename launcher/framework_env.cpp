#include "framework_env.hpp"

#include "base/environment.hpp"

#include <charconv>
#include <cstdint>

namespace cexec {

namespace {

// One "lo-hi" or "n" inside brackets; numbers print with at least `width` digits (the lower bound's length).
struct NumberRange {
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;
  std::size_t width = 0;
  std::uint64_t count() const { return hi - lo + 1; }
};

// A literal piece of a host name, or a bracket group of ranges.
struct Piece {
  std::string literal;
  std::vector<NumberRange> ranges;  // empty for a literal
};

Failure bad_hostlist(std::string_view text, std::string_view why) {
  return {ErrorKind::usage, "hostlist `" + std::string(text) + "`: " + std::string(why)};
}

std::string format_number(std::uint64_t n, std::size_t width) {
  std::string digits = std::to_string(n);
  if (digits.size() < width) {
    digits.insert(0, width - digits.size(), '0');
  }
  return digits;
}

std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 18) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

// "01-04,07" -> {1..4 width 2, 7 width 2}.
Result<std::vector<NumberRange>> parse_group(std::string_view whole, std::string_view group) {
  std::vector<NumberRange> out;
  std::size_t start = 0;
  while (start <= group.size()) {
    std::size_t comma = group.find(',', start);
    std::string_view item = group.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::size_t dash = item.find('-');
    std::string_view lo_text = item.substr(0, dash);
    std::string_view hi_text = dash == std::string_view::npos ? lo_text : item.substr(dash + 1);
    auto lo = parse_number(lo_text);
    auto hi = parse_number(hi_text);
    if (!lo || !hi) {
      return bad_hostlist(whole, "`[" + std::string(group) + "]` is not a list of numbers and ranges");
    }
    if (*hi < *lo) {
      return bad_hostlist(whole, "range `" + std::string(item) + "` runs backwards");
    }
    out.push_back({*lo, *hi, lo_text.size()});
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

// One top-level entry ("rack[1-2]-n[01-02]") as pieces.
Result<std::vector<Piece>> parse_entry(std::string_view whole, std::string_view entry) {
  std::vector<Piece> pieces;
  std::size_t i = 0;
  while (i < entry.size()) {
    if (entry[i] == '[') {
      std::size_t close = entry.find(']', i);
      if (close == std::string_view::npos) {
        return bad_hostlist(whole, "unmatched `[`");
      }
      auto ranges = parse_group(whole, entry.substr(i + 1, close - i - 1));
      if (!ranges) {
        return ranges.failure();
      }
      pieces.push_back({"", std::move(ranges).value()});
      i = close + 1;
    } else if (entry[i] == ']') {
      return bad_hostlist(whole, "unmatched `]`");
    } else {
      std::size_t next = entry.find_first_of("[]", i);
      std::size_t end = next == std::string_view::npos ? entry.size() : next;
      pieces.push_back({std::string(entry.substr(i, end - i)), {}});
      i = end;
    }
  }
  return pieces;
}

// Top-level entries: commas outside brackets separate hosts.
Result<std::vector<std::string_view>> split_entries(std::string_view text) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      std::string_view entry = text.substr(start, i - start);
      if (entry.empty()) {
        return bad_hostlist(text, "empty host name");
      }
      out.push_back(entry);
      start = i + 1;
    } else if (text[i] == '[') {
      if (++depth > 1) {
        return bad_hostlist(text, "nested `[`");
      }
    } else if (text[i] == ']') {
      if (--depth < 0) {
        return bad_hostlist(text, "unmatched `]`");
      }
    }
  }
  if (depth != 0) {
    return bad_hostlist(text, "unmatched `[`");
  }
  return out;
}

// The number at position `index` of a group (0-based, across its ranges).
std::string nth_of_group(const std::vector<NumberRange>& ranges, std::uint64_t index) {
  for (const auto& r : ranges) {
    if (index < r.count()) {
      return format_number(r.lo + index, r.width);
    }
    index -= r.count();
  }
  return {};
}

std::uint64_t group_size(const std::vector<NumberRange>& ranges) {
  std::uint64_t n = 0;
  for (const auto& r : ranges) {
    n += r.count();
  }
  return n;
}

}  // namespace

Result<std::vector<std::string>> expand_hostlist(std::string_view text, std::size_t limit) {
  auto entries = split_entries(text);
  if (!entries) {
    return entries.failure();
  }
  std::vector<std::string> hosts;
  for (auto entry : entries.value()) {
    auto pieces = parse_entry(text, entry);
    if (!pieces) {
      return pieces.failure();
    }
    // The product of the group sizes, checked against the limit before anything is expanded.
    std::uint64_t total = 1;
    for (const auto& p : pieces.value()) {
      if (!p.ranges.empty()) {
        std::uint64_t n = group_size(p.ranges);
        if (n > limit || total > limit / n) {
          return bad_hostlist(text, "more than " + std::to_string(limit) + " names");
        }
        total *= n;
      }
    }
    if (hosts.size() + total > limit) {
      return bad_hostlist(text, "more than " + std::to_string(limit) + " names");
    }
    // Mixed-radix counting, the rightmost group varying fastest.
    for (std::uint64_t k = 0; k < total; ++k) {
      std::string name;
      std::uint64_t rest = k;
      std::vector<std::string> parts(pieces.value().size());
      for (std::size_t j = pieces.value().size(); j-- > 0;) {
        const Piece& p = pieces.value()[j];
        if (p.ranges.empty()) {
          parts[j] = p.literal;
        } else {
          std::uint64_t n = group_size(p.ranges);
          parts[j] = nth_of_group(p.ranges, rest % n);
          rest /= n;
        }
      }
      for (auto& s : parts) {
        name += s;
      }
      hosts.push_back(std::move(name));
    }
  }
  return hosts;
}

Result<std::string> first_host(std::string_view text) {
  auto entries = split_entries(text);
  if (!entries) {
    return entries.failure();
  }
  auto pieces = parse_entry(text, entries.value().front());
  if (!pieces) {
    return pieces.failure();
  }
  std::string name;
  for (const auto& p : pieces.value()) {
    name += p.ranges.empty() ? p.literal : nth_of_group(p.ranges, 0);
  }
  return name;
}

std::optional<std::string> host_of_ompi_uri(std::string_view uri) {
  std::optional<std::string> v6;
  std::size_t semi = uri.find(';');
  while (semi != std::string_view::npos) {
    std::size_t start = semi + 1;
    semi = uri.find(';', start);
    std::string_view part = uri.substr(start, semi == std::string_view::npos ? std::string_view::npos : semi - start);
    bool is_v6 = part.starts_with("tcp6://");
    std::string_view scheme = is_v6 ? "tcp6://" : "tcp://";
    if (!part.starts_with(scheme)) {
      continue;
    }
    std::string_view rest = part.substr(scheme.size());
    std::size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      continue;
    }
    std::string_view addrs = rest.substr(0, colon);
    std::string_view first = addrs.substr(0, addrs.find(','));
    if (first.size() > 2 && first.front() == '[' && first.back() == ']') {
      first = first.substr(1, first.size() - 2);
    }
    if (first.empty()) {
      continue;
    }
    if (!is_v6) {
      return std::string(first);
    }
    if (!v6) {
      v6 = std::string(first);
    }
  }
  return v6;
}

int master_port_for(std::string_view job_id) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : job_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return master_port_base + static_cast<int>(h % master_port_span);
}

namespace {

void add(FrameworkEnv& f, std::string name, std::string value) {
  f.ops.push_back({EnvOpKind::set_default, std::move(name), std::move(value)});
}

}  // namespace

std::string describe(const FrameworkEnv& framework) {
  std::string line = "framework env (defaults):";
  for (const auto& op : framework.ops) {
    line += " " + op.name + "=" + op.value;
  }
  line += framework.addr_source.empty() ? ", MASTER_ADDR not derivable" : ", MASTER_ADDR from " + framework.addr_source;
  return line + (framework.port_source.empty() ? ", MASTER_PORT not derivable" : ", MASTER_PORT from " + framework.port_source);
}

Result<std::vector<std::string>> expand_ompi_node_regex(std::string_view text, std::size_t limit) {
  std::string_view nodes = text.substr(0, text.find('@'));
  auto entries = split_entries(nodes);
  if (!entries) {
    return entries.failure();
  }
  std::vector<std::string> hosts;
  for (auto entry : entries.value()) {
    std::size_t open = entry.find('[');
    if (open == std::string_view::npos) {
      hosts.emplace_back(entry);
      continue;
    }
    std::size_t close = entry.find(']', open);
    std::size_t colon = entry.find(':', open);
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "`" + std::string(...).
    auto malformed = [&] {
      std::string why(1, '`');
      why.append(entry).append("` is not PREFIX[WIDTH:RANGES]");
      return bad_hostlist(text, why);
    };
    if (close == std::string_view::npos || colon == std::string_view::npos || colon > close) {
      return malformed();
    }
    auto width = parse_number(entry.substr(open + 1, colon - open - 1));
    auto ranges = parse_group(text, entry.substr(colon + 1, close - colon - 1));
    if (!width || !ranges || *width > 32) {
      return malformed();
    }
    std::string_view prefix = entry.substr(0, open);
    std::string_view suffix = entry.substr(close + 1);
    for (const auto& r : ranges.value()) {
      if (r.count() > limit || hosts.size() + r.count() > limit) {
        return bad_hostlist(text, "more than " + std::to_string(limit) + " names");
      }
      for (std::uint64_t v = r.lo; v <= r.hi; ++v) {
        hosts.push_back(std::string(prefix) + format_number(v, static_cast<std::size_t>(*width)) + std::string(suffix));
      }
    }
  }
  return hosts;
}

namespace {

std::optional<Rank0Host> first_host_of(const std::vector<std::string>& environ,
                                       std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    if (auto list = try_environ_value(environ, name)) {
      if (auto host = first_host(*list)) {
        return Rank0Host{std::move(host).value(), "the first host of " + std::string(name)};
      }
      return std::nullopt;  // a malformed list: do not guess from another one
    }
  }
  return std::nullopt;
}

std::optional<Rank0Host> rank0_under_mpirun(const std::vector<std::string>& environ) {
  auto regex = try_environ_value(environ, "OMPI_MCA_orte_node_regex");
  auto daemons = try_environ_value(environ, "OMPI_MCA_ess_base_num_procs");
  auto nodes_with_ranks = try_environ_value(environ, "OMPI_MCA_orte_num_nodes");
  bool mpirun_runs_ranks = true;
  if (regex && daemons && nodes_with_ranks) {
    mpirun_runs_ranks = *daemons == *nodes_with_ranks;  // every daemon, mpirun's too, has ranks
  }
  if (mpirun_runs_ranks) {
    if (auto uri = try_environ_value(environ, "OMPI_MCA_orte_hnp_uri")) {
      if (auto host = host_of_ompi_uri(*uri)) {
        return Rank0Host{*host, "mpirun's node (OMPI_MCA_orte_hnp_uri)"};
      }
    }
    return std::nullopt;
  }
  auto hosts = expand_ompi_node_regex(*regex);
  if (!hosts || hosts.value().size() < 2) {
    return std::nullopt;
  }
  return Rank0Host{hosts.value()[1], "the first daemon's node after mpirun's (OMPI_MCA_orte_node_regex)"};
}

}  // namespace

std::optional<Rank0Host> where_rank0_runs(const LaunchContext& context, const std::vector<std::string>& environ) {
  if (context.is_single_node()) {
    return Rank0Host{"127.0.0.1", "single node"};
  }
  if (context.launcher == "openmpi") {
    return rank0_under_mpirun(environ);
  }
  if (context.launcher == "slurm") {
    return first_host_of(environ, {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST"});
  }
  return first_host_of(environ, {"SLURM_JOB_NODELIST", "SLURM_STEP_NODELIST"});
}

FrameworkEnv plan_framework_env(const LaunchContext& context, const std::vector<std::string>& environ) {
  FrameworkEnv out;
  if (!context.rank) {
    return out;
  }
  add(out, "RANK", std::to_string(*context.rank));
  if (context.size) {
    add(out, "WORLD_SIZE", std::to_string(*context.size));
  }
  if (context.local_rank) {
    add(out, "LOCAL_RANK", std::to_string(*context.local_rank));
  }
  if (context.local_size) {
    add(out, "LOCAL_WORLD_SIZE", std::to_string(*context.local_size));
  }
  if (auto host = where_rank0_runs(context, environ)) {
    add(out, "MASTER_ADDR", host->host);
    out.addr_source = host->source;
  }
  // Also without an address: a user who sets MASTER_ADDR alone still gets a port the ranks agree on.
  if (context.job) {
    add(out, "MASTER_PORT", std::to_string(master_port_for(*context.job)));
    out.port_source = "job " + *context.job;
  } else if (context.is_single_node()) {
    add(out, "MASTER_PORT", std::to_string(master_port_for(context.node_share)));
    out.port_source = "node share " + context.node_share;
  }
  return out;
}

}  // namespace cexec
