/* Small, careful file-system helpers shared by every part. */
#ifndef VNFSAFE_FSUTIL_H
#define VNFSAFE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#include "vnfsafe/err.h"

/* Set by the CLI's SIGINT/SIGTERM handler; long loops stop and clean up. */
extern volatile sig_atomic_t vs_interrupted;

/* Reads exactly n bytes unless EOF comes first; *got says how many. */
VS_MUST_USE vs_err vs_read_full(int fd, void *buf, size_t n, size_t *got);
VS_MUST_USE vs_err vs_write_full(int fd, const void *buf, size_t n);
/* Creates path with mode (O_EXCL|O_NOFOLLOW), writes data, fsyncs. */
VS_MUST_USE vs_err vs_write_new_file(const char *path, const void *data, size_t n, mode_t mode);
/* Reads a whole small file (at most max bytes); caller frees *out. */
VS_MUST_USE vs_err vs_read_small_file(const char *path, size_t max, uint8_t **out, size_t *len);
VS_MUST_USE vs_err vs_fsync_dir_of(const char *path);
/* flock(fd, op), waiting through signals; what names the file in errors. */
VS_MUST_USE vs_err vs_flock(int fd, int op, const char *what);
/* flock(fd, LOCK_EX), waiting through signals; what names the file in errors. */
VS_MUST_USE vs_err vs_lock_exclusive(int fd, const char *what);
VS_MUST_USE vs_err vs_fsync_path(const char *path);
/* mkdir -p; created components get mode. */
VS_MUST_USE vs_err vs_mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks; only used on our own temp dirs.
 * A directory not owned by the effective uid is left alone (EPERM). */
VS_MUST_USE vs_err vs_rm_rf(const char *path);
/* Removes the directory name inside dfd and its tree, only if it is a real
 * directory (not a link) owned by the effective uid; acts on descriptors. */
VS_MUST_USE vs_err vs_rm_own_dir_at(int dfd, const char *name);
/* Writes the directory part of path into dir (cap bytes), base name into base. */
VS_MUST_USE vs_err vs_split_path(const char *path, char *dir, size_t dcap, char *base, size_t bcap);

/* Free space vnfsafe keeps before it writes (an audit record, a checkpoint,
 * the SQLite WAL frames of one transaction), in bytes. */
#define VS_SPACE_RESERVE (1024 * 1024)
/* The file system holding path has less than VS_SPACE_RESERVE free for
 * unprivileged use (what df shows); false when it cannot be asked. */
bool vs_space_low(const char *path);
/* VS_E_ENV "no space left ..." when vs_space_low(path). */
VS_MUST_USE vs_err vs_space_check(const char *path);
/* A URI that opens the SQLite WAL database db read-only without writing a
 * byte (readonly_shm; an empty -shm file is made if absent: an inode, no
 * data block), for reads on a full disk. */
VS_MUST_USE vs_err vs_sqlite_readonly_uri(const char *db, char *uri, size_t cap);

#endif
