/* snapshot delete: the latest-snapshot check and the crypto-erase, as one
 * operation under the VNF's exclusive lock (docs/cli.md, "snapshot delete"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vnfsafe/fault.h"
#include "vnfsafe/fsutil.h"
#include "vnfsafe/ops.h"

/* Removes the file only if it still is this snapshot (same header digest).
 * Checked and unlinked through one directory descriptor and the same inode,
 * never by name twice: a directory swapped for a link in between does not
 * make the unlink land elsewhere. */
static bool remove_if_same(const vs_catalog_entry *e)
{
	char dir[4096], base[4096], hex[2 * VS_HASH_LEN + 1];
	vs_snap_header hd;
	struct stat st, again;
	if (!strcmp(e->path, "-") ||
	    vs_split_path(e->path, dir, sizeof dir, base, sizeof base) != VS_OK)
		return false;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return false;
	int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool same = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (same) {
		vs_source src = vs_source_fd(&fd);
		same = vs_snap_header_read(&src, &hd) == VS_OK;
	}
	if (same) {
		vs_hex(hd.digest, VS_HASH_LEN, hex);
		same = !strcmp(hex, e->header_digest) &&
		       fstatat(dfd, base, &again, AT_SYMLINK_NOFOLLOW) == 0 &&
		       again.st_dev == st.st_dev && again.st_ino == st.st_ino;
	}
	bool removed = same && unlinkat(dfd, base, 0) == 0;
	if (fd >= 0)
		close(fd);
	close(dfd);
	return removed;
}

VS_MUST_USE vs_err vs_snapshot_delete(vs_home *h, const uint8_t id[VS_ID_LEN], bool keep_file,
			  vs_delete_result *res)
{
	vs_catalog_entry e;
	memset(res, 0, sizeof *res);
	VS_TRY(vs_catalog_get(h, id, &e));
	snprintf(res->vnf, sizeof res->vnf, "%s", e.vnf);
	VS_TRY(vs_keystore_erase(h, id, &res->keys_erased));
	snprintf(res->file, sizeof res->file, "%s", e.path);
	if (!keep_file)
		res->file_removed = remove_if_same(&e);
	return VS_OK;
}

/* Only a definite answer lets the erase go on: the VNF is RETIRED, or
 * continues from another snapshot. Anything else (no answer, an unreadable
 * or damaged ledger, a ledger that does not know the VNF) refuses, and
 * nothing is erased. Every snapshot was made for a VNF registered in its
 * ledger, and records are never deleted: a ledger without it is the wrong
 * one (a mistyped sqlite: path opens an empty ledger). */
static VS_MUST_USE vs_err check_not_latest(vs_ledger *l, const char *vnf, const uint8_t id[VS_ID_LEN])
{
	vs_vnf_record r;
	char sid[37];
	vs_id_format(id, sid);
	/* vnf is a valid name (vs_home_lock checked it): a usage error of get
	 * can only be "no VNF named vnf". */
	vs_err rc = vs_ledger_get(l, vnf, &r);
	if (rc == VS_E_USAGE)
		return vs_refuse(VS_E_POLICY, VS_R_NEED_LEDGER, vnf,
				 "the ledger %s does not know VNF '%s' that snapshot %s was made for: "
				 "the wrong ledger? nothing erased", l->uri, vnf, sid);
	if (rc != VS_OK)
		return vs_wrap(rc == VS_E_INTEGRITY ? VS_E_INTEGRITY : VS_E_ENV,
			       "cannot tell whether snapshot %s is the latest of VNF '%s', nothing "
			       "erased (retry when the ledger answers)", sid, vnf);
	if (r.state == VS_VNF_RETIRED || !r.has_snapshot ||
	    memcmp(r.latest_snapshot, id, VS_ID_LEN) != 0)
		return VS_OK;
	return vs_refuse(VS_E_POLICY, VS_R_LATEST_SNAPSHOT, vnf,
			 "snapshot %s is the latest of VNF '%s' (%s, generation %llu): the VNF "
			 "continues from it", sid, vnf, vs_vnf_state_name(r.state),
			 (unsigned long long)r.generation);
}

VS_MUST_USE vs_err vs_snapshot_erase(vs_home *h, vs_ledger *l, const uint8_t id[VS_ID_LEN], bool force,
			 bool keep_file, vs_delete_result *res)
{
	vs_catalog_entry e;
	int lock;
	memset(res, 0, sizeof *res);
	if (!force && !l)
		return vs_refuse(VS_E_USAGE, VS_R_NEED_LEDGER, NULL,
				 "deleting a snapshot needs a ledger (or the override)");
	VS_TRY(vs_catalog_get(h, id, &e));
	snprintf(res->vnf, sizeof res->vnf, "%s", e.vnf);
	/* Exclusive: no restore of this VNF activates, and no snapshot of it is
	 * recorded, between the check and the erase. */
	VS_TRY(vs_home_lock(h, e.vnf, true, &lock));
	vs_err rc = force ? VS_OK : check_not_latest(l, e.vnf, id);
	if (rc == VS_OK) {
		vs_fault("delete.checked");
		rc = vs_snapshot_delete(h, id, keep_file, res);
	}
	vs_home_unlock(lock);
	return rc;
}
