// A cached fact about the node (pure): the answer of an expensive discovery (the host's MPI today)
// together with everything it was computed from, so that a later launch can tell, cheaply and
// without trusting the file, whether the answer still holds.
//
// What an answer depends on: `inputs` (named strings: cexec's version, the environment variables
// the discovery read) and `files` (every path the discovery looked at, with the identity it had,
// or its absence: a library that appears later on a searched path changes the answer too). A
// record is used only when every input is equal and every file's identity (device, inode, size,
// modification and change times, type) is unchanged; anything else, including a malformed or
// truncated record (a SHA-256 of the body closes it), is a miss and the discovery runs again.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cexec::factcache {

struct FileIdentity {
  std::string path;
  bool exists = false;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;  // type and permission bits
  bool operator==(const FileIdentity&) const = default;
};

using Inputs = std::vector<std::pair<std::string, std::string>>;

struct Record {
  Inputs inputs;
  std::vector<FileIdentity> files;
  std::string payload;  // the answer, in the caller's own format
};

std::string format_record(const Record& record);
// nullopt for anything that is not a complete record written by format_record.
std::optional<Record> parse_record(std::string_view text);

// Why `stored` cannot answer now ("" when it can): `inputs` must equal its inputs and `identify`
// must give every recorded path the identity recorded for it.
std::string why_stale(const Record& stored, const Inputs& inputs,
                      const std::function<FileIdentity(const std::string&)>& identify);

// A file changed this recently (`now_ns` against its modification and change times) may still be
// changing while the discovery reads it, and a time stamp cannot tell a second change within the
// clock's granularity: such an answer is not stored.
bool is_settled(const FileIdentity& file, int64_t now_ns);

}  // namespace cexec::factcache
