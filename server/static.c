/*
 * static.c: the web console (/console), the self-service page (/me) and
 * their assets (/assets/NAME), served from one directory of plain files
 * (--web-dir). Names are checked against a short alphabet before any file
 * is opened, so no path can leave the directory; there is no listing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server.h"

static int web_fd = -1;

int srv_static_init(const char *dir)
{
	if (web_fd >= 0)
		close(web_fd);
	web_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return web_fd >= 0 ? 0 : -1;
}

void srv_static_close(void)
{
	if (web_fd >= 0)
		close(web_fd);
	web_fd = -1;
}

static const struct {
	const char *ext;
	const char *ctype;
} types[] = {
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
};

/* The media type of an asset name, or NULL when the name is not one: a
 * lower-case letter or digit first, then [a-z0-9_-], then one known
 * extension. No '/', no second '.', so no traversal and no hidden file. */
static const char *asset_type(const char *name)
{
	const char *dot = strchr(name, '.');
	size_t i, n;

	if (dot == NULL || dot == name || strchr(dot + 1, '.') != NULL)
		return NULL;
	n = (size_t)(dot - name);
	if (n > 64)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '-' || c == '_'))))
			return NULL;
	}
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].ctype;
	return NULL;
}

/* The file a static URL names (and its media type), or NULL when the URL
 * is not in the static space at all. *bad is set for a URL that is in it
 * but names nothing servable (404). */
static const char *file_of(const char *url, const char **ctype, int *bad)
{
	*bad = 0;
	*ctype = "text/html; charset=utf-8";
	if (strcmp(url, "/console") == 0 || strcmp(url, "/console/") == 0)
		return "console.html";
	if (strcmp(url, "/me") == 0 || strcmp(url, "/me/") == 0)
		return "me.html";
	if (strncmp(url, "/assets/", 8) == 0) {
		*ctype = asset_type(url + 8);
		if (*ctype == NULL)
			*bad = 1;
		return url + 8;
	}
	if (strncmp(url, "/console/", 9) == 0 || strncmp(url, "/me/", 4) == 0) {
		*bad = 1;
		return url;
	}
	return NULL;
}

int srv_static_is(const char *url)
{
	const char *ct;
	int bad;

	return url != NULL && file_of(url, &ct, &bad) != NULL;
}

const char *srv_static_name(const char *url, const char **ctype)
{
	int bad;
	const char *name = file_of(url, ctype, &bad);

	return name != NULL && !bad ? name : NULL;
}

void srv_static_serve(const char *url, srv_resp *r)
{
	const char *ctype, *name;
	struct stat sb;
	int fd;

	name = srv_static_name(url, &ctype);
	if (name == NULL || web_fd < 0) {
		srv_error(r, 404, "not_found", "no such resource");
		return;
	}
	/* O_NOFOLLOW: a link planted in the directory is not followed.
	 * O_NONBLOCK: opening a FIFO planted there would wait for a writer
	 * and hold the worker; it is refused below as not a plain file. */
	fd = openat(web_fd, name,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		srv_error(r, 404, "not_found", "no such resource");
		return;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		srv_error(r, 404, "not_found", "no such resource");
		return;
	}
	r->status = 200;
	r->fd = fd;
	r->fd_size = (uint64_t)sb.st_size;
	r->ctype = ctype;
	r->page = 1;
}
