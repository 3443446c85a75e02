// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl build: compiles a manifest into an image file that appears
 * whole or not at all (temp file beside it, fsync, rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "json.h"
#include "image.h"
#include "manifest.h"

#define PROG "vanityctl build"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vanityctl build [-j] MANIFEST [-o IMAGE]\n"
		"Compile a manifest into a binary system image.\n"
		"\n"
		"  -o, --output IMAGE  where to write it (default: MANIFEST with\n"
		"                      .ini replaced by .vimg, or .vimg appended)\n"
		"  -j, --json          report the result as JSON\n"
		"  -h, --help          show this help\n");
}

static char *default_output(const char *manifest)
{
	size_t n = strlen(manifest);
	char *out = malloc(n + sizeof(".vimg"));

	if (!out)
		return NULL;
	memcpy(out, manifest, n + 1);
	/* "dir/.ini" is a hidden file called .ini, not an empty stem. */
	if (n > 4 && !strcmp(manifest + n - 4, ".ini") && manifest[n - 5] != '/')
		out[n - 4] = '\0';
	strcat(out, ".vimg");
	return out;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Best effort: the rename is already done, so a failure here changes nothing. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/*
 * The temp file lives in the target's directory so that rename() is
 * atomic; until then an existing image at @path is untouched.
 */
static int write_atomic(const char *path, const void *buf, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	mode_t mask;
	char *tmp;
	int fd, ret;

	tmp = malloc(strlen(path) + sizeof(".XXXXXX") + 1);
	if (!tmp) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	sprintf(tmp, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file beside '%s': %s\n",
			path, strerror(errno));
		free(tmp);
		return -1;
	}
	mask = umask(0);
	umask(mask);
	ret = fchmod(fd, 0666 & ~mask) ? -errno : 0;
	if (!ret)
		ret = write_all(fd, buf, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		fprintf(stderr, PROG ": cannot write '%s': %s\n", path,
			strerror(-ret));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	sync_dir(path);
	return 0;
}

/* Devices are named only when there are some, as the image says them. */
static void print_result(const char *out, const void *img, size_t len,
			 bool json)
{
	const struct vanity_image_hdr *h = vanity_image_hdr(img);
	unsigned int nd = vanity_image_device_count(img);

	if (json) {
		fputs("{\"image\":", stdout);
		vanity_json_string(stdout, out);
		fputs(",\"system\":", stdout);
		vanity_json_string(stdout, h->name);
		printf(",\"bytes\":%zu,\"shards\":%u,\"channels\":%u", len,
		       h->shard_count, h->channel_count);
		if (nd)
			printf(",\"devices\":%u", nd);
		fputs("}\n", stdout);
	} else {
		printf("%s: system '%s', %u shard%s, %u channel%s, ",
		       out, h->name, h->shard_count,
		       h->shard_count == 1 ? "" : "s", h->channel_count,
		       h->channel_count == 1 ? "" : "s");
		if (nd)
			printf("%u device%s, ", nd, nd == 1 ? "" : "s");
		printf("%zu bytes\n", len);
	}
}

/* Refuse "-o demo.ini": the manifest would be replaced by its image. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static int build(const char *manifest, const char *out, bool json)
{
	struct vanity_imgw *w;
	struct vanity_diag d;
	void *img = NULL;
	size_t len;
	int ret = 1;

	w = malloc(sizeof(*w));
	if (!w) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	if (vanity_manifest_load(manifest, w, stderr))
		goto out;
	if (same_file(manifest, out)) {
		fprintf(stderr, PROG ": '%s' is the manifest itself\n", out);
		goto out;
	}
	if (vanity_imgw_finish(w, &img, &len)) {
		fprintf(stderr, PROG ": cannot lay out the image\n");
		goto out;
	}
	/* manifest_load checked the same bytes; this guards the path here. */
	if (vanity_image_check(img, len, &d)) {
		fprintf(stderr, PROG ": image rejected: %s\n", d.msg);
		goto out;
	}
	if (write_atomic(out, img, len))
		goto out;
	print_result(out, img, len, json);
	ret = 0;
out:
	free(img);
	free(w);
	return ret;
}

int vanity_cmd_build(int argc, char **argv)
{
	const char *manifest = NULL, *out = NULL, *a;
	bool json = false, opts_done = false;
	char *def = NULL;
	int i, ret;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (opts_done || a[0] != '-' || !a[1]) {
			if (manifest) {
				fprintf(stderr, PROG ": more than one manifest ('%s', '%s')\n",
					manifest, a);
				return 1;
			}
			manifest = a;
		} else if (!strcmp(a, "--")) {
			opts_done = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (i + 1 >= argc) {
				fprintf(stderr, PROG ": %s needs an argument\n", a);
				return 1;
			}
			out = argv[++i];
		} else if (!strncmp(a, "--output=", 9)) {
			out = a + 9;
		} else if (!strncmp(a, "-o", 2)) {
			out = a + 2;
		} else {
			fprintf(stderr, PROG ": unknown option '%s'\n", a);
			usage(stderr);
			return 1;
		}
	}
	if (!manifest) {
		fprintf(stderr, PROG ": no manifest given\n");
		usage(stderr);
		return 1;
	}
	if (out && !*out) {
		fprintf(stderr, PROG ": empty output path\n");
		return 1;
	}
	if (!out) {
		def = default_output(manifest);
		if (!def) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
		out = def;
	}
	ret = build(manifest, out, json);
	free(def);
	return ret;
}
