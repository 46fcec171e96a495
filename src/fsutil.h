/*
 * fsutil.h: making a written file and its name durable (lowest layer, no
 * register handle), shared by the key files and the stores' backups.
 */
#ifndef RK_FSUTIL_H
#define RK_FSUTIL_H

/* fsync of path (dir: opened as a directory). 0, or -1 with errno set. */
int fs_sync_path(const char *path, int dir);

/* fsync of the directory that holds path ("." when path has no slash), so
 * that a rename or creation there survives a power cut. 0, or -1 with errno
 * set (ENAMETOOLONG when the directory name does not fit). */
int fs_sync_parent_dir(const char *path);

/* Both: the file's bytes, then the directory entry that names it. */
int fs_sync_new_file(const char *path);

#endif
