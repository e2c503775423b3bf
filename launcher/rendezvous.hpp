// The user's rendezvous secret: 32 random bytes in a file only the user can read, which keys the
// node instance's abstract socket name (instance_key.hpp). Abstract socket names have no
// permissions and anyone can list them (/proc/net/unix); with a name other users cannot predict,
// they cannot take it before the user's job does.
//
// Where (the first place that is the user's own and private):
//   1. $XDG_RUNTIME_DIR/cexec/            (systemd's per-user tmpfs, when set)
//   2. /dev/shm/cexec-UID/                (node-local tmpfs; gone at reboot)
//   3. $XDG_CACHE_HOME/cexec/ or ~/.cache/cexec/   (home: may be shared between nodes, which is fine)
// A folder counts only when it is a real directory (no symlink) owned by the user with no access
// for group or others, and its parent cannot be rewritten by others (owned by the user or root,
// and not group/other writable unless sticky). Another user who creates /dev/shm/cexec-UID first
// only moves the secret to the next place. No place at all: no secret, and the caller runs a
// private container (with a warning) rather than a guessable rendezvous.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace cexec {

struct RendezvousSecret {
  std::string value;  // 64 hex digits
  std::string path;   // where it was read or created
};

// Reads the secret, creating it (atomically: link(2) of a complete file, so concurrent ranks agree)
// when the first usable place has none. Failure: nullopt, with every place's reason in `why`.
std::optional<RendezvousSecret> load_rendezvous_secret(const std::vector<std::string>& environ, std::string& why);

// The first place of the list above that is (or could be made) the user's private folder; the
// node's cached facts live there too (factcache/). nullopt when there is none.
std::optional<std::string> private_cexec_dir(const std::vector<std::string>& environ);

}  // namespace cexec
