#include "gpu_version.hpp"

#include <array>
#include <charconv>

namespace cexec::gpu {

namespace {

struct CudaDriverMinimum {
  const char* cuda;
  const char* driver;  // minimum Linux driver of the toolkit's GA release
};

// CUDA Toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions" (Linux, GA).
constexpr std::array<CudaDriverMinimum, 22> cuda_driver_table{{
    {"10.0", "410.48"},    {"10.1", "418.39"},    {"10.2", "440.33"},    {"11.0", "450.36.06"},
    {"11.1", "455.23"},    {"11.2", "460.27.03"}, {"11.3", "465.19.01"}, {"11.4", "470.42.01"},
    {"11.5", "495.29.05"}, {"11.6", "510.39.01"}, {"11.7", "515.43.04"}, {"11.8", "520.61.05"},
    {"12.0", "525.60.13"}, {"12.1", "530.30.02"}, {"12.2", "535.54.03"}, {"12.3", "545.23.06"},
    {"12.4", "550.54.14"}, {"12.5", "555.42.02"}, {"12.6", "560.28.03"}, {"12.8", "570.26"},
    {"12.9", "575.51.03"}, {"13.0", "580.65.06"},
}};

bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// The first token of `text` after `from` that parses as a version with at least `min_parts` parts.
std::optional<Version> first_version_token(std::string_view text, size_t min_parts) {
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find_first_of("0123456789", i);
    if (start == std::string_view::npos) {
      return std::nullopt;
    }
    size_t end = text.find_first_not_of("0123456789.", start);
    std::string_view token = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    while (!token.empty() && token.back() == '.') {
      token.remove_suffix(1);
    }
    if (auto v = parse_version(token); v && v->parts.size() >= min_parts) {
      return v;
    }
    i = end == std::string_view::npos ? text.size() : end;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Version> parse_version(std::string_view text) {
  Version v;
  v.text = std::string(text);
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!is_digits(part) || part.size() > 9) {
      return std::nullopt;
    }
    int n = 0;
    std::from_chars(part.data(), part.data() + part.size(), n);
    v.parts.push_back(n);
    if (dot == std::string_view::npos) {
      return v;
    }
    start = dot + 1;
  }
}

Version major_minor(const Version& v) {
  Version out;
  for (size_t i = 0; i < v.parts.size() && i < 2; ++i) {
    out.parts.push_back(v.parts[i]);
    if (i > 0) {
      out.text += '.';
    }
    out.text += std::to_string(v.parts[i]);
  }
  return out;
}

std::optional<Version> cuda_from_driver_api(int value) {
  if (value <= 0) {
    return std::nullopt;
  }
  return parse_version(std::to_string(value / 1000) + "." + std::to_string((value % 1000) / 10));
}

std::optional<Version> driver_from_proc_version(std::string_view text) {
  size_t at = text.find("Kernel Module");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  size_t nl = text.find('\n', at);
  std::string_view line = text.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
  return first_version_token(line, 2);
}

std::optional<Version> version_from_library_name(std::string_view name, int min_parts) {
  size_t so = name.find(".so.");
  if (so == std::string_view::npos) {
    return std::nullopt;
  }
  auto v = parse_version(name.substr(so + 4));
  if (!v || static_cast<int>(v->parts.size()) < min_parts) {
    return std::nullopt;
  }
  return v;
}

std::optional<Version> cuda_supported_by_driver(const Version& driver) {
  std::optional<Version> best;
  for (const auto& row : cuda_driver_table) {
    if (driver >= *parse_version(row.driver)) {
      best = parse_version(row.cuda);
    }
  }
  return best;
}

std::optional<Version> cuda_from_version_json(std::string_view text) {
  size_t cuda = text.find("\"cuda\"");
  if (cuda == std::string_view::npos) {
    return std::nullopt;
  }
  size_t key = text.find("\"version\"", cuda);
  if (key == std::string_view::npos) {
    return std::nullopt;
  }
  size_t colon = text.find(':', key);
  size_t open = colon == std::string_view::npos ? colon : text.find('"', colon);
  size_t close = open == std::string_view::npos ? open : text.find('"', open + 1);
  if (close == std::string_view::npos) {
    return std::nullopt;
  }
  return parse_version(text.substr(open + 1, close - open - 1));
}

std::optional<Version> cuda_from_version_txt(std::string_view text) {
  size_t at = text.find("CUDA Version");
  if (at == std::string_view::npos) {
    return std::nullopt;
  }
  return first_version_token(text.substr(at), 2);
}

std::optional<Version> cuda_from_cudart_name(std::string_view name) {
  if (!name.starts_with("libcudart.so.")) {
    return std::nullopt;
  }
  return version_from_library_name(name, 2);
}

std::string cuda_compatibility_problem(const Version& runtime, const Version& driver_cuda) {
  Version r = major_minor(runtime);
  Version d = major_minor(driver_cuda);
  if (r <= d) {
    return "";
  }
  std::string why = "the image's CUDA runtime " + r.text + " is newer than the host driver supports (CUDA " + d.text + ")";
  if (!r.parts.empty() && !d.parts.empty() && r.parts[0] == d.parts[0] && r.parts[0] >= 11) {
    return why + ": programs may run through CUDA minor-version compatibility, but PTX JIT and newer APIs fail";
  }
  return why + ": CUDA calls will fail with \"driver version is insufficient\" (update the driver, or use an image built for CUDA " +
         d.text + ")";
}

}  // namespace cexec::gpu
