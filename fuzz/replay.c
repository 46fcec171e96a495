/*
 * replay.c: runs a libFuzzer target over files without libFuzzer, so that
 * every build (gcc included, sanitizers or not) replays the committed
 * corpus as a test.
 *
 * usage: fuzz_replay_NAME PATH...
 * Each PATH is a file or a directory whose regular files are all fed, one
 * by one, to LLVMFuzzerTestOneInput. Fails when a path is missing, a
 * directory holds no file, or a file can't be read; a crash in the target
 * fails it too.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target; weak so that its absence links to NULL. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Reads a whole file into a fresh buffer; *out is NULL for an empty file. */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;
	int rc = -1;

	*out = NULL;
	*len = 0;
	if (f == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *nbuf = realloc(buf, ncap);
			if (nbuf == NULL)
				goto out;
			buf = nbuf;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				goto out;
			break;
		}
	}
	if (n == 0) {
		free(buf);
		buf = NULL;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* Feeds one file to the target. The input gets a buffer of exactly its
 * size, as under libFuzzer, so that ASan sees reads past its end. */
static int run_file(const char *path)
{
	uint8_t *data = NULL;
	size_t len = 0;

	if (read_file(path, &data, &len) != 0) {
		fprintf(stderr, "replay: can't read %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (data == NULL) {
		uint8_t *empty = malloc(1);
		if (empty == NULL)
			return -1;
		LLVMFuzzerTestOneInput(empty, 0);
		free(empty);
	} else {
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	return 0;
}

/* Runs every regular file of a directory; returns how many, or -1. */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long count = 0;
	char path[PATH_MAX];
	struct stat sb;

	if (d == NULL) {
		fprintf(stderr, "replay: can't open directory %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof path) {
			fprintf(stderr, "replay: path too long in %s\n", dir);
			count = -1;
			break;
		}
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (run_file(path) != 0) {
			count = -1;
			break;
		}
		count++;
	}
	closedir(d);
	return count;
}

int main(int argc, char **argv)
{
	long total = 0;
	struct stat sb;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		const char *p = argv[i];
		if (stat(p, &sb) != 0) {
			fprintf(stderr, "replay: %s: %s\n", p, strerror(errno));
			return 1;
		}
		if (S_ISDIR(sb.st_mode)) {
			long n = run_dir(p);
			if (n < 0)
				return 1;
			if (n == 0) {
				fprintf(stderr,
					"replay: %s holds no input: add at "
					"least one corpus file\n",
					p);
				return 1;
			}
			total += n;
		} else {
			if (run_file(p) != 0)
				return 1;
			total++;
		}
	}
	printf("replay: %ld inputs ran without a crash\n", total);
	return 0;
}
