// SPDX-License-Identifier: GPL-2.0
/*
 * Test fixtures: scratch files that clean up after themselves, the
 * reference image and its re-layout, and manifest loads with messages.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "manifest.h"

/* Every scratch directory of this test, for scratch_cleanup(). */
static char *made[256];
static unsigned int nmade;

char *scratch_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	cr_assert(asprintf(&dir, "%s/vanity-unit.XXXXXX",
			   base && *base ? base : "/tmp") > 0);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
	if (nmade < sizeof(made) / sizeof(made[0]))
		made[nmade++] = strdup(dir);
	return dir;
}

void scratch_cleanup(void)
{
	while (nmade) {
		rm_tree(made[--nmade]);
		free(made[nmade]);
	}
}

/* Tests only create flat directories. */
void rm_tree(const char *dir)
{
	struct dirent *e;
	char *p;
	DIR *d;

	if (!dir)
		return;
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (asprintf(&p, "%s/%s", dir, e->d_name) > 0) {
				if (unlink(p))
					rmdir(p);
				free(p);
			}
		}
		closedir(d);
	}
	rmdir(dir);
}

char *write_text(const char *dir, const char *name, const char *text)
{
	char *path;
	FILE *f;

	cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
	f = fopen(path, "w");
	cr_assert_not_null(f, "fopen %s", path);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
	return path;
}

char *read_all(const char *path, size_t *len)
{
	char *buf = NULL;
	long n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
out:
	fclose(f);
	return buf;
}

bool exists(const char *path)
{
	struct stat st;

	return !lstat(path, &st);
}

unsigned int dir_entries(const char *dir)
{
	unsigned int n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	cr_assert_not_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

void good_image(uint8_t **img, size_t *len)
{
	uint64_t a[VANITY_CPU_WORDS] = { 1ULL << 2 };
	uint64_t b[VANITY_CPU_WORDS] = { (1ULL << 3) | (1ULL << 4) };
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	void *out;

	cr_assert_not_null(w);
	vanity_imgw_init(w, "sys");
	cr_assert_eq(vanity_imgw_shard(w, "a", 1 << 20, a, 0, "./a"), 0);
	cr_assert_eq(vanity_imgw_shard(w, "b", 0, b, 1000, NULL), 1);
	cr_assert_eq(vanity_imgw_channel(w, "ab", 0, 1, 64, 1024), 0);
	cr_assert_eq(vanity_imgw_channel(w, "ba", 1, 0, 8, 2), 1);
	cr_assert_eq(vanity_imgw_finish(w, &out, len), 0);
	free(w);
	*img = out;
}

void good_image_devices(uint8_t **img, size_t *len)
{
	uint64_t a[VANITY_CPU_WORDS] = { 1ULL << 2 };
	uint64_t b[VANITY_CPU_WORDS] = { 1ULL << 3 };
	uint64_t c[VANITY_CPU_WORDS] = { 1ULL << 4 };
	struct vanity_pci_addr edu = { 0, 0, 3 << 3 };
	struct vanity_pci_addr nic = { 1, 2, 0x1f << 3 | 7 };
	struct vanity_imgw *w = calloc(1, sizeof(*w));
	void *out;

	cr_assert_not_null(w);
	vanity_imgw_init(w, "sys");
	cr_assert_eq(vanity_imgw_shard(w, "a", 1 << 20, a, 0, "./a"), 0);
	cr_assert_eq(vanity_imgw_shard(w, "b", 0, b, 1000, NULL), 1);
	cr_assert_eq(vanity_imgw_shard(w, "c", 64 << 10, c, 1000, NULL), 2);
	cr_assert_eq(vanity_imgw_channel(w, "ab", 0, 1, 64, 1024), 0);
	cr_assert_eq(vanity_imgw_channel(w, "ba", 1, 0, 8, 2), 1);
	cr_assert_eq(vanity_imgw_channel(w, "bc", 1, 2, 8, 2), 2);
	cr_assert_eq(vanity_imgw_device(w, "edu", &edu, 0,
					VANITY_DEVICE_F_DMA_PRIVATE), 0);
	w->devices[0].dma_channels[0] = 1 << 0 | 1 << 1;
	cr_assert_eq(vanity_imgw_device(w, "nic", &nic, 1, 0), 1);
	w->devices[1].dma_channels[0] = 1 << 0 | 1 << 2;
	cr_assert_eq(vanity_imgw_finish(w, &out, len), 0);
	free(w);
	*img = out;
}

struct vanity_image_hdr *hdr_of(uint8_t *img)
{
	return (struct vanity_image_hdr *)img;
}

struct vanity_image_section *sec_of(uint8_t *img, unsigned int k)
{
	return (struct vanity_image_section *)(img + hdr_of(img)->section_off +
					       k * sizeof(struct vanity_image_section));
}

struct vanity_image_shard *shard_of(uint8_t *img, unsigned int i)
{
	struct vanity_image_section *s = sec_of(img, 0);

	return (struct vanity_image_shard *)(img + s->offset +
					     (size_t)i * s->entry_size);
}

struct vanity_image_channel *chan_of(uint8_t *img, unsigned int i)
{
	struct vanity_image_section *s = sec_of(img, 1);

	return (struct vanity_image_channel *)(img + s->offset +
					       (size_t)i * s->entry_size);
}

struct vanity_image_device *dev_of(uint8_t *img, unsigned int i)
{
	struct vanity_image_section *s = sec_of(img, 3);

	return (struct vanity_image_device *)(img + s->offset +
					      (size_t)i * s->entry_size);
}

uint8_t *relayout(const uint8_t *img, size_t hdr_size, size_t shard_size,
		  size_t chan_size, size_t *len)
{
	uint8_t *src = (uint8_t *)img;
	const struct vanity_image_hdr *h = (const void *)img;
	size_t dir = 3 * sizeof(struct vanity_image_section);
	size_t strs = sec_of(src, 2)->count;
	size_t total, off, i;
	uint8_t *out;

	total = hdr_size + dir + h->shard_count * shard_size +
		h->channel_count * chan_size + strs;
	out = calloc(1, total);
	cr_assert_not_null(out);
	memcpy(out, img, sizeof(*h));
	hdr_of(out)->hdr_size = (uint16_t)hdr_size;
	hdr_of(out)->section_off = (uint32_t)hdr_size;
	hdr_of(out)->total_size = (uint32_t)total;
	memcpy(sec_of(out, 0), sec_of(src, 0), dir);
	off = hdr_size + dir;
	sec_of(out, 0)->offset = (uint32_t)off;
	sec_of(out, 0)->entry_size = (uint32_t)shard_size;
	off += h->shard_count * shard_size;
	sec_of(out, 1)->offset = (uint32_t)off;
	sec_of(out, 1)->entry_size = (uint32_t)chan_size;
	off += h->channel_count * chan_size;
	sec_of(out, 2)->offset = (uint32_t)off;
	for (i = 0; i < h->shard_count; i++)
		memcpy(shard_of(out, i), shard_of(src, i),
		       sizeof(struct vanity_image_shard));
	for (i = 0; i < h->channel_count; i++)
		memcpy(chan_of(out, i), chan_of(src, i),
		       sizeof(struct vanity_image_channel));
	memcpy(out + off, img + sec_of(src, 2)->offset, strs);
	vanity_imgw_seal(out, total);
	*len = total;
	return out;
}

uint8_t *to_v1(const uint8_t *img, size_t *len)
{
	uint8_t *src = (uint8_t *)img;
	const struct vanity_image_hdr *h = (const void *)img;
	struct vanity_image_section *s = sec_of(src, 0), *c = sec_of(src, 1),
				    *t = sec_of(src, 2);
	size_t shards = (size_t)s->count * s->entry_size;
	size_t chans = (size_t)c->count * c->entry_size;
	size_t total = sizeof(struct vanity_image_hdr_v1) + shards + chans +
		       t->count;
	struct vanity_image_hdr_v1 *v1;
	uint8_t *out = calloc(1, total);

	cr_assert_not_null(out);
	v1 = (struct vanity_image_hdr_v1 *)out;
	v1->magic = VANITY_IMAGE_MAGIC;
	v1->version = 1;
	v1->hdr_size = sizeof(*v1);
	v1->total_size = (uint32_t)total;
	memcpy(v1->name, h->name, sizeof(v1->name));
	v1->shard_count = h->shard_count;
	v1->channel_count = h->channel_count;
	v1->shard_entry_size = (uint16_t)s->entry_size;
	v1->channel_entry_size = (uint16_t)c->entry_size;
	v1->shard_off = sizeof(*v1);
	v1->channel_off = (uint32_t)(v1->shard_off + shards);
	v1->strtab_off = (uint32_t)(v1->channel_off + chans);
	v1->strtab_size = t->count;
	memcpy(out + v1->shard_off, img + s->offset, shards);
	memcpy(out + v1->channel_off, img + c->offset, chans);
	memcpy(out + v1->strtab_off, img + t->offset, t->count);
	vanity_imgw_seal(out, total);
	*len = total;
	return out;
}

struct load load_text_run(const char *text, struct vanity_imgw *w,
			  uint32_t runner)
{
	struct load l = { 0 };
	size_t size = 0;
	const char *p;
	FILE *errs;

	l.dir = scratch_dir();
	l.path = write_text(l.dir, "m.ini", text);
	errs = open_memstream(&l.errs, &size);
	cr_assert_not_null(errs);
	l.ret = vanity_manifest_load_run(l.path, w, errs, runner);
	cr_assert_eq(fclose(errs), 0);
	for (p = l.errs; *p; p++)
		l.nerrs += *p == '\n';
	return l;
}

struct load load_text(const char *text, struct vanity_imgw *w)
{
	return load_text_run(text, w, VANITY_RUNNER_ANY);
}

void load_free(struct load *l)
{
	if (l->path)
		unlink(l->path);
	rm_tree(l->dir);
	free(l->dir);
	free(l->path);
	free(l->errs);
	memset(l, 0, sizeof(*l));
}

bool has_error(const struct load *l, int line, const char *needle)
{
	char *prefix;
	const char *p, *eol;
	size_t plen;
	bool found = false;

	cr_assert(asprintf(&prefix, "%s:%d: ", l->path, line) > 0);
	plen = strlen(prefix);
	for (p = l->errs; *p && !found; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (!strncmp(p, prefix, plen) &&
		    memmem(p + plen, (size_t)(eol - p) - plen, needle,
			   strlen(needle)))
			found = true;
	}
	free(prefix);
	return found;
}
