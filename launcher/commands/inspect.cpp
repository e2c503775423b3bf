#include "commands/commands.hpp"

#include "base/image.hpp"
#include "base/sys/syscalls.hpp"
#include "builder/builder.hpp"
#include "builder/metadata.hpp"

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <sys/stat.h>

extern "C" {
#include <squashfuse/squashfuse.h>
}

namespace cexec::build {

namespace {

constexpr size_t metadata_limit = 16 << 20;

// Reads files of a SquashFS image in-process.
class SquashfsReader {
 public:
  explicit SquashfsReader(const std::string& path) : _fd(sys::open_path(path, O_RDONLY)) {
    if (sqfs_init(&_fs, _fd.get(), 0) != SQFS_OK) {
      throw Error(ErrorKind::image_invalid, "image `" + path + "`: cannot read the SquashFS tables");
    }
  }
  ~SquashfsReader() { sqfs_destroy(&_fs); }
  SquashfsReader(const SquashfsReader&) = delete;
  SquashfsReader& operator=(const SquashfsReader&) = delete;

  std::optional<std::string> try_read(const std::string& path) {
    sqfs_inode inode{};
    bool found = false;
    if (sqfs_inode_get(&_fs, &inode, sqfs_inode_root(&_fs)) != SQFS_OK ||
        sqfs_lookup_path(&_fs, &inode, path.c_str(), &found) != SQFS_OK || !found || !S_ISREG(inode.base.mode) ||
        inode.xtra.reg.file_size > metadata_limit) {
      return std::nullopt;
    }
    std::string out(inode.xtra.reg.file_size, '\0');
    sqfs_off_t size = static_cast<sqfs_off_t>(out.size());
    if (!out.empty() && sqfs_read_range(&_fs, &inode, 0, &size, out.data()) != SQFS_OK) {
      return std::nullopt;
    }
    out.resize(static_cast<size_t>(size));
    return out;
  }

 private:
  sys::Fd _fd;
  sqfs _fs{};
};

struct Inspection {
  std::string image;
  bool is_directory = false;
  std::string compression;
  uint64_t size = 0;
  std::string digest;
  std::optional<std::string> labels, environment, runscript, help, definition;
};

Inspection inspect_image(const std::string& path, bool need_digest) {
  auto st = sys::try_stat(path);
  if (!st) {
    int err = errno;
    throw Error(ErrorKind::input_missing, "image `" + path + "`: " + std::error_code(err, std::generic_category()).message());
  }
  Inspection in;
  in.image = path;
  auto read_all = [&](auto&& read) {
    in.labels = read(metadata_labels);
    in.environment = read(metadata_environment);
    in.runscript = read(metadata_runscript);
    in.help = read(metadata_help);
    in.definition = read(std::string(metadata_dir) + "/definition");
  };
  if (S_ISDIR(st->st_mode)) {
    in.is_directory = true;
    sys::Fd root = sys::open_path(path, O_PATH | O_DIRECTORY);
    read_all([&](const std::string& name) -> std::optional<std::string> {
      auto fd = sys::try_open_in_root(root.get(), name, O_RDONLY);
      return fd ? std::optional(sys::read_all(fd->get(), metadata_limit)) : std::nullopt;
    });
    return in;
  }
  sys::Fd fd = sys::open_path(path, O_RDONLY);
  std::string head(squashfs_superblock_size, '\0');
  ssize_t n = ::pread(fd.get(), head.data(), head.size(), 0);
  head.resize(n > 0 ? static_cast<size_t>(n) : 0);
  SquashfsInfo info = value_or_throw(parse_squashfs_superblock(head, static_cast<uint64_t>(st->st_size), path));
  in.compression = squashfs_compression_name(info.compression);
  in.size = static_cast<uint64_t>(st->st_size);
  SquashfsReader reader(path);
  read_all([&](const std::string& name) { return reader.try_read("/" + name); });
  if (need_digest) {
    in.digest = file_digest(path);
  }
  return in;
}

std::string indented(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    out += "  " + text.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  return out;
}

std::string render_text(const Inspection& in) {
  std::string out = "image: " + in.image + "\n";
  if (in.is_directory) {
    out += "format: directory\n";
  } else {
    out += "format: SquashFS (" + in.compression + ")\n";
    out += "size: " + std::to_string(in.size) + " bytes\n";
    out += "digest: " + in.digest + "\n";
  }
  auto section = [&](const char* title, const std::optional<std::string>& content) {
    out += std::string(title) + ":" + (content ? "\n" + indented(*content) : " (none)\n");
  };
  section("labels", in.labels);
  section("environment", in.environment);
  section("runscript", in.runscript);
  section("help", in.help);
  section("definition", in.definition);
  return out;
}

std::string render_json(const Inspection& in) {
  using nlohmann::json;
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  json labels = json::object();
  if (in.labels) {
    for (const auto& [k, v] : value_or_throw(parse_labels_text(*in.labels, in.image + ":/.cexec/labels"))) {
      labels[k] = v;
    }
  }
  json j = {
      {"image", in.image},
      {"format", in.is_directory ? "directory" : "squashfs"},
      {"compression", in.is_directory ? json(nullptr) : json(in.compression)},
      {"size", in.is_directory ? json(nullptr) : json(in.size)},
      {"digest", in.is_directory ? json(nullptr) : json(in.digest)},
      {"labels", labels},
      {"environment", opt(in.environment)},
      {"runscript", opt(in.runscript)},
      {"help", opt(in.help)},
      {"definition", opt(in.definition)},
  };
  // Replace, not throw, on invalid UTF-8 in an image's files.
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

}  // namespace cexec::build

namespace cexec {

using namespace build;

int run_inspect(const InspectOptions& options) {
  Inspection in = inspect_image(options.image, !options.help_only);
  std::string out;
  if (options.help_only) {
    out = in.help ? *in.help : "No help sections were defined for this image.\n";
  } else {
    out = options.json ? render_json(in) : render_text(in);
  }
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace cexec
