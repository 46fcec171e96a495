/*
 * h_backup.c: signed audit checkpoints, backups and restores over HTTP, for
 * the roles the library lets do them (the administrator; checkpoints also a
 * role that may audit). Files live only in the server's --backup-dir, under
 * names the server makes: a request names a backup by such a name, never
 * by a path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "handlers.h"

#define CHECKPOINT_MAX 4096

/* "<prefix>YYYYMMDDTHHMMSSZ-<8 hex><suffix>": sorts by time, never the
 * same twice. */
static void make_name(char *out, size_t cap, const char *prefix,
		      const char *suffix)
{
	time_t t = time(NULL);
	struct tm tm;
	uint32_t rnd = randombytes_random();

	gmtime_r(&t, &tm);
	snprintf(out, cap, "%s%04d%02d%02dT%02d%02d%02dZ-%08x%s", prefix,
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned)rnd, suffix);
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The library's answer for these calls: a refusal says why (the role); a
 * failure is told without the server's paths. */
static void fail_files(srv_req *q, srv_resp *r, rk_status st, const char *what)
{
	if (st == RK_EREFUSED || st == RK_EINTEGRITY)
		srv_fail(q, r, st);
	else
		srv_error(r, srv_status_of(st),
			  st == RK_EINVAL ? "invalid" : "system", what);
}

static char *read_small(const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

void h_checkpoint(srv_req *q, srv_resp *r)
{
	char name[96], path[4200];
	const char *dir = q->backup_dir != NULL ? q->backup_dir : q->tmp_dir;
	char *text;
	rk_status st;

	make_name(name, sizeof name, "checkpoint-", ".txt");
	if (join(path, sizeof path, dir, name) != 0) {
		srv_error(r, 500, "system", "the folder's name is too long");
		return;
	}
	st = rk_audit_checkpoint(q->reg, path);
	if (st != RK_OK) {
		fail_files(q, r, st, "cannot make the checkpoint");
		return;
	}
	text = read_small(path, CHECKPOINT_MAX);
	/* Without --backup-dir the file only carried the text here. */
	if (q->backup_dir == NULL)
		unlink(path);
	if (text == NULL) {
		srv_error(r, 500, "system", "cannot read the checkpoint back");
		return;
	}
	srv_reply_json(r, 201,
		       json_pack("{s:s,s:s?}", "checkpoint", text, "name",
				 q->backup_dir != NULL ? name : NULL));
	free(text);
}

void h_checkpoint_verify(srv_req *q, srv_resp *r)
{
	int bad = 0, fd;
	const char *text = srv_str(q->json, "checkpoint", &bad);
	char path[4200];
	rk_audit_report rep;
	rk_status st;
	size_t n;

	if (bad || text == NULL || (n = strlen(text)) > CHECKPOINT_MAX) {
		srv_error(r, 400, "bad_request",
			  "checkpoint (the text of a checkpoint, a string) is "
			  "needed");
		return;
	}
	/* The library reads a checkpoint from a file: a private one. */
	if (join(path, sizeof path, q->tmp_dir, "rk-cp-XXXXXX") != 0 ||
	    (fd = mkstemp(path)) < 0) {
		srv_error(r, 500, "system", "cannot keep the checkpoint");
		return;
	}
	/* The file's last line ends with a newline; a client's copy may
	 * have lost it. */
	if (write(fd, text, n) != (ssize_t)n ||
	    (n > 0 && text[n - 1] != '\n' && write(fd, "\n", 1) != 1)) {
		close(fd);
		unlink(path);
		srv_error(r, 500, "system", "cannot keep the checkpoint");
		return;
	}
	close(fd);
	memset(&rep, 0, sizeof rep);
	st = rk_audit_verify_checkpoint(q->reg, path, &rep);
	unlink(path);
	if (st != RK_OK && st != RK_EINTEGRITY) {
		srv_fail(q, r, st);
		return;
	}
	srv_reply_json(r, 200,
		       json_pack("{s:b,s:I,s:I,s:s}", "intact", st == RK_OK,
				 "entries", (json_int_t)rep.entries,
				 "first_bad", (json_int_t)rep.first_bad,
				 "reason",
				 st == RK_OK ? "intact" : rk_errmsg(q->reg)));
}

void h_backup(srv_req *q, srv_resp *r)
{
	char name[96], path[4200];
	struct stat sb;
	rk_status st;

	if (q->backup_dir == NULL) {
		srv_error(r, 404, "not_found",
			  "this server keeps no backups (it was started "
			  "without --backup-dir)");
		return;
	}
	make_name(name, sizeof name, "rekisteri-", ".db");
	if (join(path, sizeof path, q->backup_dir, name) != 0) {
		srv_error(r, 500, "system", "the folder's name is too long");
		return;
	}
	st = rk_backup(q->reg, path);
	if (st != RK_OK) {
		fail_files(q, r, st, "cannot make the backup");
		return;
	}
	snprintf(r->location, sizeof r->location, "/v1/backups/%s", name);
	srv_reply_json(
		r, 201,
		json_pack("{s:s,s:I}", "name", name, "bytes",
			  (json_int_t)(stat(path, &sb) == 0 ? sb.st_size : 0)));
}

/* A name the server made: "rekisteri-...db", one path component. */
static int backup_name_ok(const char *n)
{
	size_t len = strlen(n);

	return len > 13 && strncmp(n, "rekisteri-", 10) == 0 &&
	       strcmp(n + len - 3, ".db") == 0 && strchr(n, '/') == NULL &&
	       strstr(n, "..") == NULL;
}

void h_restore(srv_req *q, srv_resp *r)
{
	const char *force = h_arg(q, "force");
	char path[4200];
	struct stat sb;
	rk_status st;

	if (q->backup_dir == NULL) {
		srv_error(r, 404, "not_found",
			  "this server keeps no backups (it was started "
			  "without --backup-dir)");
		return;
	}
	if (force != NULL && strcmp(force, "0") != 0 &&
	    strcmp(force, "1") != 0) {
		srv_error(r, 400, "bad_request", "force is 0 or 1");
		return;
	}
	if (!backup_name_ok(q->params[0]) ||
	    join(path, sizeof path, q->backup_dir, q->params[0]) != 0 ||
	    lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		srv_error(r, 404, "not_found", "no such backup");
		return;
	}
	st = rk_restore_ex(q->reg, path,
			   force != NULL && strcmp(force, "1") == 0
				   ? RK_RESTORE_FORCE
				   : 0u);
	if (st != RK_OK) {
		/* The library's reasons (a trail that does not verify, a
		 * backup of another register) name no data. */
		if (st == RK_ESYS)
			srv_error(r, 500, "system", "the restore failed");
		else
			srv_fail(q, r, st);
		return;
	}
	h_done(r, 200);
}

/* ---- the list of backups (GET /v1/backups) ---- */

static int backup_entry(const struct dirent *d)
{
	return backup_name_ok(d->d_name);
}

/* The backups in --backup-dir, oldest first (names sort by time): name,
 * size and modification time; files only, nothing of their contents. */
void h_backup_list(srv_req *q, srv_resp *r)
{
	struct dirent **ents = NULL;
	json_t *arr = NULL;
	rk_status st;
	int n, i;

	if (q->backup_dir == NULL) {
		srv_error(r, 404, "not_found",
			  "this server keeps no backups (it was started "
			  "without --backup-dir)");
		return;
	}
	st = rk_backup_list_allowed(q->reg);
	if (st != RK_OK) {
		srv_fail(q, r, st);
		return;
	}
	n = scandir(q->backup_dir, &ents, backup_entry, alphasort);
	if (n < 0) {
		srv_error(r, 500, "system", "cannot read the backup folder");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		char path[4200], when[32];
		struct stat sb;
		struct tm tm;
		if (arr != NULL &&
		    join(path, sizeof path, q->backup_dir, ents[i]->d_name) ==
			    0 &&
		    lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    gmtime_r(&sb.st_mtime, &tm) != NULL &&
		    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0)
			json_array_append_new(
				arr, json_pack("{s:s,s:I,s:s}", "name",
					       ents[i]->d_name, "bytes",
					       (json_int_t)sb.st_size, "time",
					       when));
		free(ents[i]);
	}
	free(ents);
	if (arr == NULL) {
		srv_error(r, 500, "system", "out of memory");
		return;
	}
	srv_reply_json(r, 200, json_pack("{s:o}", "backups", arr));
}
