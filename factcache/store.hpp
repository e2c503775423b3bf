// Reading and writing factcache records (record.hpp) on disk, safely for a cache: a record is read
// only from a regular file owned by the effective user and writable by no one else, is written
// whole to a temporary file and renamed into place (a reader never sees half a record; concurrent
// writers each rename a complete one), and every failure is a miss, never an error: the caller
// computes the answer as it would without a cache.
#pragma once

#include "record.hpp"

#include <optional>
#include <string>
#include <vector>

namespace cexec::factcache {

// What `path` leads to now (stat), or an absent identity.
FileIdentity identify(const std::string& path);

// The payload stored in `file` when it still answers for `inputs`; otherwise nullopt, with why in
// `why` ("no cache file", "owned by uid 0", "malformed", "`/usr/lib/x.so` changed").
std::optional<std::string> try_load(const std::string& file, const Inputs& inputs, std::string& why);

// Stores `payload`, computed from `inputs` and the files at `paths` (duplicates are fine), in
// `file`; false with why in `why` when it did not (a file changed within the last seconds, or the
// directory is not writable). `file`'s directory must be the user's own private directory.
bool store(const std::string& file, const Inputs& inputs, const std::vector<std::string>& paths,
           const std::string& payload, std::string& why);

}  // namespace cexec::factcache
