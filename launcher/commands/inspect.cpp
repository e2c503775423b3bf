#include "commands/commands.hpp"

#include "apptainer.hpp"
#include "base/image.hpp"
#include "base/sys/syscalls.hpp"
#include "builder/builder.hpp"
#include "builder/metadata.hpp"
#include "sif_file.hpp"

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
  SquashfsReader(const std::string& path, uint64_t offset) : _fd(sys::open_path(path, O_RDONLY)) {
    if (sqfs_init(&_fs, _fd.get(), static_cast<size_t>(offset)) != SQFS_OK) {
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
  std::optional<uint64_t> sif_offset;  // a SIF: where its SquashFS primary partition starts
  std::optional<std::string> labels, environment, runscript, help, definition;
};

// An Apptainer/Singularity image's metadata (sif/apptainer.hpp) where /.cexec/ has none.
template <typename Read>
void add_apptainer_metadata(Inspection& in, Read&& read) {
  if (!in.runscript) {
    in.runscript = read(sif::apptainer_runscript);
  }
  if (!in.help) {
    in.help = read(sif::apptainer_help);
  }
  if (auto json = in.labels ? std::nullopt : read(sif::apptainer_labels)) {
    in.labels = value_or_throw(sif::labels_from_json(*json, in.image + ":/" + sif::apptainer_labels));
  }
}

// The SIF's own definition-file and JSON labels objects.
void add_sif_objects(Inspection& in, int fd, const sif::SifFile& f) {
  if (const auto* def = sif::find_object(f.descriptors, sif::DataType::deffile); def && !in.definition) {
    in.definition = sif::read_object(fd, *def, metadata_limit);
  }
  if (const auto* labels = sif::find_object(f.descriptors, sif::DataType::labels)) {
    if (auto json = sif::read_object(fd, *labels, metadata_limit)) {
      in.labels = in.labels.value_or("") + value_or_throw(sif::labels_from_json(*json, in.image + " (SIF labels object)"));
    }
  }
}

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
    auto read = [&](const std::string& name) -> std::optional<std::string> {
      auto fd = sys::try_open_in_root(root.get(), name, O_RDONLY);
      return fd ? std::optional(sys::read_all(fd->get(), metadata_limit)) : std::nullopt;
    };
    read_all(read);
    add_apptainer_metadata(in, read);
    return in;
  }
  sys::Fd fd = sys::open_path(path, O_RDONLY);
  in.size = static_cast<uint64_t>(st->st_size);
  std::optional<sif::SifFile> sif_file;
  if (sif::has_magic(sys::read_at(fd.get(), sif::header_size, 0))) {
    sif_file = sif::read_sif_squashfs(fd.get(), in.size, path);
    in.sif_offset = sif_file->primary.offset;
  }
  std::string head = sys::read_at(fd.get(), squashfs_superblock_size, in.sif_offset.value_or(0));
  SquashfsInfo info = value_or_throw(
      parse_squashfs_superblock(head, sif_file ? sif_file->primary.size : in.size, path));
  in.compression = squashfs_compression_name(info.compression);
  SquashfsReader reader(path, in.sif_offset.value_or(0));
  auto read = [&](const std::string& name) { return reader.try_read("/" + name); };
  read_all(read);
  add_apptainer_metadata(in, read);
  if (sif_file) {
    add_sif_objects(in, fd.get(), *sif_file);
  }
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
    out += in.sif_offset ? "format: SIF, SquashFS (" + in.compression + ") primary partition at byte " +
                               std::to_string(*in.sif_offset) + "\n"
                         : "format: SquashFS (" + in.compression + ")\n";
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
      {"format", in.is_directory ? "directory" : in.sif_offset ? "sif" : "squashfs"},
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
