// The FUSE low-level operations of the SquashFS server, answered by one libsquashfuse handle per
// worker thread so that concurrent reads decompress in parallel.
//
// Debian's libsquashfuse is built without its thread-safe caches: one `sqfs` handle (its metadata,
// data and fragment caches, its block index) must never be used by two threads at once. Instead of
// one lock around every call, each worker thread gets its own handle over the same image
// descriptor (pread only, so the descriptor is shared safely), cloned from the session's handle on
// the thread's first use. Inode numbers are stateless in this library version (the 64-bit
// encoding of the SquashFS inode id), so any handle answers for any inode; open files and
// directories keep a copy of their inode, which is plain data.
//
// The replies let the kernel cache what a read-only image allows: entries and attributes never
// expire, file pages and directory listings are kept across opens, symlink targets are cached.
#pragma once

extern "C" {
#include <squashfuse/ll.h>
}

namespace cexec::sqfs_ops {

// The operation table; the session's userdata must be the sqfs_ll* opened on the image.
struct fuse_lowlevel_ops operations();

// Gives the calling thread its own handle over `base`'s image (done by each worker before serving,
// so no clone sits on the path of a request). Returns false when the image cannot be read again.
bool prepare_thread(sqfs_ll* base);

// How many worker threads the server runs: one per online CPU, at least 4, at most 16.
int worker_count();

}  // namespace cexec::sqfs_ops
