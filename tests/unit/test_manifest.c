// SPDX-License-Identifier: GPL-2.0
/*
 * The manifest compiler: a full manifest to the image it must produce,
 * and every refusal with its FILE:LINE and reason.
 */
#include <dlfcn.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "manifest.h"

static struct vanity_imgw *w;

static void setup(void)
{
	w = malloc(sizeof(*w));
	cr_assert_not_null(w);
}

static void teardown(void)
{
	free(w);
	scratch_cleanup();
}

TestSuite(manifest, .init = setup, .fini = teardown);

/*
 * Fault injection for user lookups: the test binary's definition wins
 * over libc's for the code under test, and forwards unless told not to.
 */
static int pw_fail_with;
static bool pw_bad_uid;

int getpwnam_r(const char *name, struct passwd *pwd, char *buf, size_t len,
	       struct passwd **result)
{
	int (*real)(const char *, struct passwd *, char *, size_t,
		    struct passwd **);
	int ret;

	if (pw_fail_with) {
		*result = NULL;
		return pw_fail_with;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "getpwnam_r");
	cr_assert_not_null(real);
	ret = real(name, pwd, buf, len, result);
	if (!ret && *result && pw_bad_uid)
		pwd->pw_uid = (uid_t)-1;
	return ret;
}

/* Lines 1-4: a valid system and shard to build on from line 5. */
#define BASE "[system]\nname = s\n[shard a]\ncpus = 1\n"

static void expect_ok(const char *text)
{
	struct load l = load_text(text, w);

	cr_assert_eq(l.ret, 0, "refused:\n%s", l.errs);
	cr_assert_str_empty(l.errs);
	load_free(&l);
}

static void expect_one(const char *text, int line, const char *needle)
{
	struct load l = load_text(text, w);

	cr_assert_eq(l.ret, -1, "accepted");
	cr_assert(has_error(&l, line, needle), "want line %d '%s', got:\n%s",
		  line, needle, l.errs);
	cr_assert_eq(l.nerrs, 1, "want one message, got:\n%s", l.errs);
	load_free(&l);
}

/* ------------------------------------------------------------ accepted */

static const char full[] =
	"; a full manifest\n"				/*  1 */
	"[system]\n"					/*  2 */
	"name = demo\n"					/*  3 */
	"\n"						/*  4 */
	"[channel data]\n"				/*  5 */
	"from = producer\n"				/*  6 */
	"to = consumer\n"				/*  7 */
	"slot_size = 64        ; bytes, power of two\n"	/*  8 */
	"slots = 1024\n"				/*  9 */
	"\n"						/* 10 */
	"[shard producer]\n"				/* 11 */
	"cpus = 2              ; list or ranges\n"	/* 12 */
	"memory = 1M\n"					/* 13 */
	"user = root\n"					/* 14 */
	"program = ./producer  ; optional\n"		/* 15 */
	"\n"						/* 16 */
	"  [shard consumer]\n"				/* 17 */
	"\tcpus = 3, 5-6\n"				/* 18 */
	"\tmemory = 8K\n"				/* 19 */
	"\tuser = 1000\n"				/* 20 */
	"# another comment\n"				/* 21 */
	"[channel back]\n"				/* 22 */
	"from=consumer\n"				/* 23 */
	"to =producer\n"				/* 24 */
	"slot_size= 8\n"				/* 25 */
	"slots = 2\n";					/* 26 */

Test(manifest, full_manifest_builds_the_expected_image)
{
	const struct vanity_image_shard *p, *c;
	const struct vanity_image_channel *data, *back;
	struct load l = load_text(full, w);
	struct vanity_diag d;
	void *img;
	size_t len;

	cr_assert_eq(l.ret, 0, "refused:\n%s", l.errs);
	cr_assert_str_empty(l.errs);
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);

	cr_assert_str_eq(vanity_image_hdr(img)->name, "demo");
	cr_assert_eq(vanity_image_hdr(img)->shard_count, 2);
	cr_assert_eq(vanity_image_hdr(img)->channel_count, 2);

	p = vanity_image_shard(img, 0);
	cr_assert_str_eq(p->name, "producer");
	cr_assert_eq(p->cpus[0], 1ULL << 2);
	cr_assert_eq(p->memory_size, 1 << 20);
	cr_assert_eq(p->uid, 0);
	cr_assert_eq(p->flags, 0, "user = root is root, not the system's owner");
	cr_assert_str_eq(vanity_image_str(img, p->program), "./producer");

	c = vanity_image_shard(img, 1);
	cr_assert_str_eq(c->name, "consumer");
	cr_assert_eq(c->cpus[0], (1ULL << 3) | (1ULL << 5) | (1ULL << 6));
	for (unsigned int i = 1; i < VANITY_CPU_WORDS; i++)
		cr_assert_eq(c->cpus[i], 0);
	cr_assert_eq(c->memory_size, 8192);
	cr_assert_eq(c->uid, 1000);
	cr_assert_eq(c->flags, 0);
	cr_assert_eq(c->program, 0);

	/* Channels keep manifest order; endpoints resolve to shard indices. */
	data = vanity_image_channel(img, 0);
	cr_assert_str_eq(data->name, "data");
	cr_assert_eq(data->from, 0);
	cr_assert_eq(data->to, 1);
	cr_assert_eq(data->slot_size, 64);
	cr_assert_eq(data->slots, 1024);
	back = vanity_image_channel(img, 1);
	cr_assert_str_eq(back->name, "back");
	cr_assert_eq(back->from, 1);
	cr_assert_eq(back->to, 0);
	cr_assert_eq(back->slot_size, 8);
	cr_assert_eq(back->slots, 2);
	free(img);
	load_free(&l);
}

Test(manifest, defaults_no_memory_system_owner_no_program)
{
	struct load l = load_text(BASE, w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_str_eq(w->name, "s");
	cr_assert_eq(w->nshards, 1);
	cr_assert_eq(w->nchannels, 0);
	cr_assert_eq(w->shards[0].memory_size, 0);
	/* No user: whoever runs the system, with uid 0 for the module's root. */
	cr_assert_eq(w->shards[0].uid, 0);
	cr_assert_eq(w->shards[0].flags, VANITY_SHARD_F_SYSTEM_OWNER);
	cr_assert_eq(w->shards[0].program, 0);
	cr_assert_eq(w->shards[0].cpus[0], 2);
	load_free(&l);
}

Test(manifest, memory_suffixes)
{
	static const struct { const char *v; uint64_t bytes; } cases[] = {
		{ "0", 0 }, { "4096", 4096 }, { "8K", 8192 },
		{ "1M", 1 << 20 }, { "1G", 1ULL << 30 }, { "1024M", 1ULL << 30 },
		{ "0004K", 4096 },
	};
	char *text;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(asprintf(&text, BASE "memory = %s\n", cases[i].v) > 0);
		struct load l = load_text(text, w);

		cr_assert_eq(l.ret, 0, "%s: %s", cases[i].v, l.errs);
		cr_assert_eq(w->shards[0].memory_size, cases[i].bytes, "%s",
			     cases[i].v);
		load_free(&l);
		free(text);
	}
}

Test(manifest, shard_and_channel_may_share_a_name)
{
	expect_ok(BASE "[shard b]\ncpus = 2\n"
		  "[channel a]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n");
}

Test(manifest, crlf_line_endings)
{
	expect_ok("[system]\r\nname = s\r\n[shard a]\r\ncpus = 1 ; x\r\n");
}

Test(manifest, utf8_bom)
{
	expect_ok("\xef\xbb\xbf[system]\nname = s\n[shard a]\ncpus = 1\n");
}

Test(manifest, last_line_without_newline)
{
	struct load l = load_text(BASE "memory = 4K", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].memory_size, 4096);
	load_free(&l);
}

Test(manifest, indented_key_is_not_a_continuation)
{
	struct load l = load_text(BASE "    memory = 4K\n     user = 7\n", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].memory_size, 4096);
	cr_assert_eq(w->shards[0].uid, 7);
	load_free(&l);
}

Test(manifest, numeric_and_named_users)
{
	struct load l = load_text(BASE "user = 4294967294\n", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].uid, 4294967294U);
	load_free(&l);
	l = load_text(BASE "user = root\n", w);
	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].uid, 0);
	cr_assert_eq(w->shards[0].flags, 0);
	load_free(&l);
}

/* ------------------------------------------------- run's runner check */

/* @text loaded for `vanityctl run` by euid @runner, messages captured. */
static struct load load_run(const char *text, uint32_t runner)
{
	return load_text_run(text, w, runner);
}

static void expect_run_ok(const char *text, uint32_t runner)
{
	struct load l = load_run(text, runner);

	cr_assert_eq(l.ret, 0, "runner %u refused:\n%s", runner, l.errs);
	cr_assert_str_empty(l.errs);
	load_free(&l);
}

Test(manifest, run_refuses_a_program_as_another_named_user)
{
	struct load l = load_run(BASE "user = root\nprogram = ./p\n", 65534);
	char *want;

	cr_assert_eq(l.ret, -1, "accepted");
	cr_assert(asprintf(&want, "%s:5: shard 'a': cannot start its program as user 'root' (uid 0): vanityctl runs as uid 65534, not as root or that user\n",
			   l.path) > 0);
	cr_assert_str_eq(l.errs, want);
	free(want);
	load_free(&l);
}

Test(manifest, run_refuses_a_program_as_another_uid)
{
	struct load l = load_run(BASE "program = ./p\nuser = 1000\n", 65534);

	cr_assert_eq(l.ret, -1, "accepted");
	cr_assert(has_error(&l, 6, "shard 'a': cannot start its program as uid 1000: vanityctl runs as uid 65534"),
		  "%s", l.errs);
	cr_assert_eq(l.nerrs, 1, "%s", l.errs);
	load_free(&l);
}

Test(manifest, run_refuses_each_such_shard_at_its_user_line)
{
	struct load l = load_run(BASE "user = 0\nprogram = ./p\n"
				 "[shard b]\ncpus = 1\nprogram = ./q\nuser = 7\n"
				 "[shard c]\ncpus = 1\nprogram = ./r\n", 65534);

	cr_assert_eq(l.ret, -1, "accepted");
	cr_assert(has_error(&l, 5, "shard 'a': cannot start its program as uid 0"), "%s", l.errs);
	cr_assert(has_error(&l, 10, "shard 'b': cannot start its program as uid 7"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 2, "shard 'c' names no user:\n%s", l.errs);
	load_free(&l);
}

/* An unknown user is that one problem, not also the runner's. */
Test(manifest, run_reports_a_bad_user_once)
{
	struct load l = load_run(BASE "user = no-such-user-here\nprogram = ./p\n", 65534);

	cr_assert_eq(l.ret, -1, "accepted");
	cr_assert(has_error(&l, 5, "unknown user 'no-such-user-here'"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 1, "%s", l.errs);
	load_free(&l);
}

Test(manifest, run_accepts_what_its_runner_can_start)
{
	/* No user: the runner's own shard, whoever that is. */
	expect_run_ok(BASE "program = ./p\n", 65534);
	/* The runner's own user: 1000 by number, root by name. */
	expect_run_ok(BASE "user = 1000\nprogram = ./p\n", 1000);
	expect_run_ok(BASE "user = root\nprogram = ./p\n", 0);
	/* Root starts a program as anyone. */
	expect_run_ok(BASE "user = 1000\nprogram = ./p\n", 0);
	/* No program: its user attaches it, run starts nothing as anyone. */
	expect_run_ok(BASE "user = 1000\n", 65534);
	/* build (and up) check nothing of the kind. */
	expect_run_ok(BASE "user = 1000\nprogram = ./p\n", VANITY_RUNNER_ANY);
	cr_assert_eq(w->shards[0].uid, 1000);
}

Test(manifest, longest_program)
{
	char *text, prog[VANITY_PROGRAM_MAX];
	void *img;
	size_t len;

	memset(prog, 'p', sizeof(prog) - 1);
	prog[sizeof(prog) - 1] = '\0';
	cr_assert(asprintf(&text, BASE "program = %s\n", prog) > 0);
	struct load l = load_text(text, w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_str_eq(vanity_image_str(img, vanity_image_shard(img, 0)->program),
			 prog);
	free(img);
	load_free(&l);
	free(text);
}

Test(manifest, semicolon_inside_a_value_is_not_a_comment)
{
	struct load l = load_text(BASE "program = ./a;b ; c\n", w);
	void *img;
	size_t len;

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(vanity_imgw_finish(w, &img, &len), 0);
	cr_assert_str_eq(vanity_image_str(img, vanity_image_shard(img, 0)->program),
			 "./a;b");
	free(img);
	load_free(&l);
}

Test(manifest, maximum_counts)
{
	char *text = NULL, *more;
	size_t i;

	cr_assert(asprintf(&text, "[system]\nname = s\n") > 0);
	for (i = 0; i < VANITY_MAX_SHARDS; i++) {
		cr_assert(asprintf(&more, "%s[shard s%zu]\ncpus = %zu\n", text,
				   i, i) > 0);
		free(text);
		text = more;
	}
	for (i = 0; i < VANITY_MAX_CHANNELS; i++) {
		cr_assert(asprintf(&more,
				   "%s[channel c%zu]\nfrom = s%zu\nto = s%zu\n"
				   "slot_size = 8\nslots = 2\n", text, i,
				   i % 64, (i + 1) % 64) > 0);
		free(text);
		text = more;
	}
	struct load l = load_text(text, w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->nshards, VANITY_MAX_SHARDS);
	cr_assert_eq(w->nchannels, VANITY_MAX_CHANNELS);
	load_free(&l);
	free(text);
}

Test(manifest, totals_exactly_at_the_limit)
{
	expect_ok("[system]\nname = s\n"
		  "[shard a]\ncpus = 1\nmemory = 1G\n"
		  "[shard b]\ncpus = 1\nmemory = 1G\n"
		  "[shard c]\ncpus = 1\nmemory = 1G\n"
		  "[shard d]\ncpus = 1\nmemory = 1G\n");
}

/* ---------------------------------------------------------- file level */

Test(manifest, missing_file)
{
	FILE *errs;
	char *out = NULL;
	size_t size;

	errs = open_memstream(&out, &size);
	cr_assert_eq(vanity_manifest_load("/nonexistent/m.ini", w, errs), -1);
	fclose(errs);
	cr_assert_str_eq(out, "/nonexistent/m.ini:0: cannot open: "
			      "No such file or directory\n");
	free(out);
}

Test(manifest, directory_instead_of_file)
{
	char *dir = scratch_dir(), *out = NULL, *want;
	FILE *errs;
	size_t size;

	errs = open_memstream(&out, &size);
	cr_assert_eq(vanity_manifest_load(dir, w, errs), -1);
	fclose(errs);
	cr_assert(asprintf(&want, "%s:0: read error: Is a directory\n", dir) > 0);
	cr_assert_str_eq(out, want);
	free(want);
	free(out);
	rm_tree(dir);
	free(dir);
}

Test(manifest, empty_file)
{
	struct load l = load_text("", w);

	cr_assert_eq(l.ret, -1);
	cr_assert(has_error(&l, 0, "no [system] section"), "%s", l.errs);
	cr_assert(has_error(&l, 0, "no shards"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 2, "%s", l.errs);
	load_free(&l);
}

Test(manifest, no_system_section)
{
	expect_one("[shard a]\ncpus = 1\n", 0, "no [system] section");
}

Test(manifest, no_shards)
{
	expect_one("[system]\nname = s\n", 0, "no shards");
}

/* The image validator's refusal of the whole image: line 0. */
Test(manifest, totals_over_the_limit)
{
	expect_one("[system]\nname = s\n"
		   "[shard a]\ncpus = 1\nmemory = 1G\n"
		   "[shard b]\ncpus = 1\nmemory = 1G\n"
		   "[shard c]\ncpus = 1\nmemory = 1G\n"
		   "[shard d]\ncpus = 1\nmemory = 1G\n"
		   "[channel x]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n",
		   0, "regions total 4294975488 bytes, over the 4294967296 limit");
}

Test(manifest, messages_come_out_in_line_order)
{
	struct load l = load_text(BASE
		"[channel c]\n"		/* 5 */
		"from = nope\n"		/* 6: found only at the end */
		"to = a\n"		/* 7 */
		"slot_size = 3\n"	/* 8 */
		"slots = 2\n", w);	/* 9 */
	const char *six, *eight;

	cr_assert_eq(l.nerrs, 2, "%s", l.errs);
	six = strstr(l.errs, ":6: ");
	eight = strstr(l.errs, ":8: ");
	cr_assert(six && eight && six < eight, "%s", l.errs);
	load_free(&l);
}

Test(manifest, every_problem_is_reported_in_one_pass)
{
	struct load l = load_text(
		"[system]\n"		/* 1 */
		"name = S\n"		/* 2 */
		"[shard a]\n"		/* 3 */
		"cpus = 1-0\n"		/* 4 */
		"memory = 1T\n"		/* 5 */
		"[shard b]\n"		/* 6 */
		"cpus = 1\n"		/* 7 */
		"bogus = 1\n", w);	/* 8 */

	cr_assert_eq(l.ret, -1);
	cr_assert(has_error(&l, 2, "bad system name 'S'"), "%s", l.errs);
	cr_assert(has_error(&l, 4, "bad range 1-0"), "%s", l.errs);
	cr_assert(has_error(&l, 5, "memory '1T'"), "%s", l.errs);
	cr_assert(has_error(&l, 8, "unknown key 'bogus'"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 4, "%s", l.errs);
	load_free(&l);
}

/* ----------------------------------------------------------- lines */

Test(manifest, nul_byte_in_a_line)
{
	struct load l;
	char text[] = BASE "memory = 4K\n";

	/* load_text() stops at the NUL, so write the bytes directly. */
	l = load_text("", w);
	FILE *f = fopen(l.path, "w");
	cr_assert_not_null(f);
	text[strlen(BASE) + 3] = '\0';
	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	free(l.errs);
	size_t size;
	FILE *errs = open_memstream(&l.errs, &size);
	cr_assert_eq(vanity_manifest_load(l.path, w, errs), -1);
	fclose(errs);
	l.nerrs = 0;
	for (const char *p = l.errs; *p; p++)
		l.nerrs += *p == '\n';
	cr_assert(has_error(&l, 5, "NUL byte"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 1, "%s", l.errs);
	load_free(&l);
}

Test(manifest, line_too_long)
{
	char *text, *pad = malloc(5000);

	memset(pad, 'x', 4999);
	pad[4999] = '\0';
	cr_assert(asprintf(&text, BASE "program = %s\n", pad) > 0);
	expect_one(text, 5, "line too long");
	free(text);
	free(pad);
}

Test(manifest, overlong_section_header_drops_its_keys)
{
	char *text, *pad = malloc(5000);

	memset(pad, 'x', 4999);
	pad[4999] = '\0';
	cr_assert(asprintf(&text, BASE "[shard %s]\ncpus = 2\n", pad) > 0);
	expect_one(text, 5, "line too long");
	free(text);
	free(pad);
}

Test(manifest, line_without_equals)
{
	expect_one(BASE "memory 4K\n", 5, "expected 'key = value'");
}

Test(manifest, line_with_empty_key)
{
	expect_one(BASE " = 4K\n", 5, "expected 'key = value'");
}

Test(manifest, colon_is_not_a_separator)
{
	expect_one(BASE "memory: 4K\n", 5, "expected 'key = value'");
}

Test(manifest, key_with_bad_characters)
{
	expect_one(BASE "mem.ory = 4K\n", 5, "expected 'key = value'");
}

Test(manifest, semicolon_without_blank_is_part_of_the_value)
{
	expect_one(BASE "[shard b]\ncpus = 2;3\n", 6,
		   "shard 'b': cpus: unexpected ';'");
}

/* ------------------------------------------------------------ sections */

Test(manifest, section_header_missing_bracket)
{
	expect_one(BASE "[shard b\ncpus = 2\n", 5, "missing ']'");
}

Test(manifest, section_header_trailing_text)
{
	expect_one(BASE "[shard b] extra\ncpus = 2\n", 5, "text after ']'");
}

Test(manifest, section_header_comment_after_bracket)
{
	expect_ok(BASE "[shard b]   ; the second\ncpus = 2\n");
}

Test(manifest, section_header_empty)
{
	expect_one(BASE "[ ]\n", 5, "empty section header");
}

Test(manifest, section_header_unknown_kind)
{
	expect_one(BASE "[chan x]\nfrom = a\n", 5,
		   "unknown section 'chan' (want system, shard, channel or device)");
}

Test(manifest, section_kind_is_case_sensitive)
{
	expect_one(BASE "[Shard b]\ncpus = 2\n", 5, "unknown section 'Shard'");
}

Test(manifest, system_section_with_a_name)
{
	expect_one("[system demo]\nname = s\n[system]\nname = s\n"
		   "[shard a]\ncpus = 1\n", 1, "[system] takes no name");
}

Test(manifest, shard_section_without_name)
{
	expect_one(BASE "[shard]\ncpus = 2\n", 5, "shard section needs a name");
}

Test(manifest, channel_section_without_name)
{
	expect_one(BASE "[channel  ]\nfrom = a\n", 5,
		   "channel section needs a name");
}

Test(manifest, shard_name_uppercase)
{
	expect_one(BASE "[shard Big]\ncpus = 2\n", 5, "bad shard name 'Big'");
}

Test(manifest, shard_name_with_space)
{
	expect_one(BASE "[shard a b]\ncpus = 2\n", 5, "bad shard name 'a b'");
}

Test(manifest, shard_name_too_long)
{
	/* 31 characters is the longest name. */
	expect_ok(BASE "[shard abcdefghijklmnopqrstuvwxyz01234]\ncpus = 2\n");
	expect_one(BASE "[shard abcdefghijklmnopqrstuvwxyz012345]\ncpus = 2\n",
		   5, "want 1-31 of [a-z0-9_-]");
}

Test(manifest, channel_name_bad)
{
	expect_one(BASE "[channel a.b]\nfrom = a\n", 5, "bad channel name 'a.b'");
}

Test(manifest, duplicate_system_section)
{
	expect_one(BASE "[system]\nname = t\n", 5,
		   "duplicate [system] section (first at line 1)");
}

Test(manifest, duplicate_shard_section)
{
	expect_one(BASE "\n[shard a]\ncpus = 2\n", 6,
		   "duplicate shard 'a' (first at line 3)");
}

Test(manifest, duplicate_channel_section)
{
	expect_one(BASE "[shard b]\ncpus = 2\n"
		   "[channel c]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n"
		   "[channel c]\nfrom = b\nto = a\nslot_size = 8\nslots = 2\n",
		   12, "duplicate channel 'c' (first at line 7)");
}

Test(manifest, too_many_shards)
{
	char *text = NULL, *more;
	size_t i;

	cr_assert(asprintf(&text, "[system]\nname = s\n") > 0);
	for (i = 0; i <= VANITY_MAX_SHARDS; i++) {
		cr_assert(asprintf(&more, "%s[shard s%zu]\ncpus = 1\n", text, i) > 0);
		free(text);
		text = more;
	}
	/* The 65th header is on line 3 + 64 * 2. */
	expect_one(text, 131, "too many shards (max 64)");
	free(text);
}

Test(manifest, too_many_channels)
{
	char *text = NULL, *more;
	size_t i;

	cr_assert(asprintf(&text, BASE "[shard b]\ncpus = 1\n") > 0);
	for (i = 0; i <= VANITY_MAX_CHANNELS; i++) {
		cr_assert(asprintf(&more,
				   "%s[channel c%zu]\nfrom = a\nto = b\n"
				   "slot_size = 8\nslots = 2\n", text, i) > 0);
		free(text);
		text = more;
	}
	/* The 257th header is on line 7 + 256 * 5. */
	expect_one(text, 1287, "too many channels (max 256)");
	free(text);
}

Test(manifest, keys_before_any_section)
{
	expect_one("name = s\n" BASE, 1, "key 'name' outside any section");
}

Test(manifest, keys_of_a_refused_section_are_not_reported_again)
{
	expect_one(BASE "[widget w]\ncolour = red\nsize = 3\n", 5,
		   "unknown section 'widget'");
}

/* ---------------------------------------------------------------- keys */

Test(manifest, unknown_key_in_shard)
{
	expect_one(BASE "cpu = 2\n", 5, "shard 'a': unknown key 'cpu'");
}

Test(manifest, unknown_key_in_system)
{
	expect_one("[system]\nname = s\nversion = 2\n[shard a]\ncpus = 1\n", 3,
		   "system: unknown key 'version'");
}

Test(manifest, key_of_another_section_kind)
{
	expect_one(BASE "[shard b]\ncpus = 2\n"
		   "[channel c]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n"
		   "cpus = 3\n", 12, "channel 'c': unknown key 'cpus'");
}

Test(manifest, keys_are_case_sensitive)
{
	expect_one(BASE "Memory = 4K\n", 5, "unknown key 'Memory'");
}

Test(manifest, duplicate_key)
{
	expect_one(BASE "memory = 4K\nmemory = 8K\n", 6,
		   "shard 'a': duplicate key 'memory' (first at line 5)");
}

Test(manifest, duplicate_key_even_if_the_first_was_bad)
{
	struct load l = load_text(BASE "memory = x\nmemory = 8K\n", w);

	cr_assert(has_error(&l, 5, "memory 'x'"), "%s", l.errs);
	cr_assert(has_error(&l, 6, "duplicate key 'memory'"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 2, "%s", l.errs);
	load_free(&l);
}

Test(manifest, missing_system_name)
{
	expect_one("[system]\n[shard a]\ncpus = 1\n", 1,
		   "system: missing key 'name'");
}

Test(manifest, missing_cpus)
{
	expect_one(BASE "[shard b]\nmemory = 4K\n", 5,
		   "shard 'b': missing key 'cpus'");
}

Test(manifest, empty_shard_section)
{
	expect_one(BASE "[shard b]\n", 5, "shard 'b': missing key 'cpus'");
}

Test(manifest, missing_channel_keys_at_its_header)
{
	struct load l = load_text(BASE "\n[channel c]\n", w);

	cr_assert_eq(l.ret, -1);
	cr_assert(has_error(&l, 6, "channel 'c': missing key 'from'"), "%s", l.errs);
	cr_assert(has_error(&l, 6, "channel 'c': missing key 'to'"), "%s", l.errs);
	cr_assert(has_error(&l, 6, "channel 'c': missing key 'slot_size'"),
		  "%s", l.errs);
	cr_assert(has_error(&l, 6, "channel 'c': missing key 'slots'"), "%s",
		  l.errs);
	cr_assert_eq(l.nerrs, 4, "%s", l.errs);
	load_free(&l);
}

/* -------------------------------------------------------------- values */

Test(manifest, system_name_invalid)
{
	expect_one("[system]\nname = My System\n[shard a]\ncpus = 1\n", 2,
		   "system: bad system name 'My System'");
}

Test(manifest, system_name_empty)
{
	expect_one("[system]\nname =\n[shard a]\ncpus = 1\n", 2,
		   "bad system name ''");
}

Test(manifest, cpus_empty)
{
	expect_one(BASE "[shard b]\ncpus =   ; none\n", 6,
		   "shard 'b': cpus: empty cpu list");
}

Test(manifest, cpus_out_of_range)
{
	expect_one(BASE "[shard b]\ncpus = 5000\n", 6,
		   "cpus: cpu 5000 out of range (max 1023)");
}

Test(manifest, cpus_duplicate)
{
	expect_one(BASE "[shard b]\ncpus = 2,1-3\n", 6, "cpus: duplicate cpu 2");
}

Test(manifest, cpus_malformed)
{
	expect_one(BASE "[shard b]\ncpus = 1--2\n", 6,
		   "cpus: expected a cpu number at '-2'");
}

Test(manifest, cpus_shared_between_shards_is_allowed)
{
	expect_ok(BASE "[shard b]\ncpus = 1\n");
}

Test(manifest, memory_not_a_number)
{
	expect_one(BASE "memory = lots\n", 5,
		   "shard 'a': memory 'lots': want bytes or a K, M or G suffix");
}

Test(manifest, memory_empty)
{
	expect_one(BASE "memory =\n", 5, "memory '': want bytes");
}

Test(manifest, memory_unknown_suffix)
{
	expect_one(BASE "memory = 1T\n", 5, "memory '1T': want bytes");
}

Test(manifest, memory_lowercase_suffix)
{
	expect_one(BASE "memory = 1m\n", 5, "memory '1m'");
}

Test(manifest, memory_iec_suffix)
{
	expect_one(BASE "memory = 1MiB\n", 5, "memory '1MiB'");
}

Test(manifest, memory_blank_before_suffix)
{
	expect_one(BASE "memory = 1 M\n", 5, "memory '1 M'");
}

Test(manifest, memory_negative)
{
	expect_one(BASE "memory = -4096\n", 5, "memory '-4096'");
}

Test(manifest, memory_hex)
{
	expect_one(BASE "memory = 0x1000\n", 5, "memory '0x1000'");
}

Test(manifest, memory_number_overflows)
{
	expect_one(BASE "memory = 99999999999999999999\n", 5,
		   "memory 99999999999999999999 is too large");
}

Test(manifest, memory_suffix_overflows)
{
	/* 2^34 G is 2^64 bytes: the shift must not wrap to 0. */
	expect_one(BASE "memory = 17179869184G\n", 5,
		   "memory 17179869184G is too large");
}

Test(manifest, memory_not_a_page_multiple)
{
	expect_one(BASE "memory = 1000\n", 5,
		   "memory 1000 is not a multiple of 4096 bytes");
	expect_one(BASE "memory = 6K\n", 5, "memory 6K is not a multiple");
}

Test(manifest, memory_over_the_shard_limit)
{
	expect_one(BASE "memory = 2G\n", 5,
		   "memory 2G exceeds the 1024M per-shard limit");
	expect_one(BASE "memory = 1025M\n", 5, "exceeds the 1024M");
	expect_one(BASE "memory = 1073745920\n", 5, "exceeds the 1024M");
}

Test(manifest, user_empty)
{
	expect_one(BASE "user =\n", 5, "shard 'a': user is empty");
}

Test(manifest, user_unknown)
{
	expect_one(BASE "user = no-such-user-vanity\n", 5,
		   "unknown user 'no-such-user-vanity'");
}

Test(manifest, uid_reserved)
{
	expect_one(BASE "user = 4294967295\n", 5,
		   "uid 4294967295 out of range (max 4294967294)");
}

Test(manifest, uid_too_large)
{
	expect_one(BASE "user = 4294967296\n", 5, "uid 4294967296 out of range");
	expect_one(BASE "user = 99999999999999999999999\n", 5, "out of range");
}

Test(manifest, user_lookup_fails)
{
	pw_fail_with = EIO;
	expect_one(BASE "user = root\n", 5,
		   "cannot look up user 'root': Input/output error");
}

Test(manifest, user_lookup_never_has_room)
{
	pw_fail_with = ERANGE;
	expect_one(BASE "user = root\n", 5,
		   "cannot look up user 'root': Numerical result out of range");
}

Test(manifest, user_with_invalid_uid)
{
	pw_bad_uid = true;
	expect_one(BASE "user = root\n", 5, "user 'root' has an invalid uid");
}

Test(manifest, program_empty)
{
	expect_one(BASE "program =\n", 5, "shard 'a': program is empty");
}

Test(manifest, program_too_long)
{
	char *text, prog[VANITY_PROGRAM_MAX + 1];

	memset(prog, 'p', sizeof(prog) - 1);
	prog[sizeof(prog) - 1] = '\0';
	cr_assert(asprintf(&text, BASE "program = %s\n", prog) > 0);
	expect_one(text, 5, "program is 1024 bytes, over the 1023-byte limit");
	free(text);
}

Test(manifest, programs_overflow_the_string_table)
{
	char *text = NULL, *more, prog[1001];
	size_t i;

	memset(prog, 'p', 1000);
	prog[1000] = '\0';
	cr_assert(asprintf(&text, "[system]\nname = s\n") > 0);
	for (i = 0; i < 17; i++) {
		cr_assert(asprintf(&more, "%s[shard s%zu]\ncpus = 1\nprogram = %s\n",
				   text, i, prog) > 0);
		free(text);
		text = more;
	}
	/* 16 programs of 1001 bytes fit in 16384; the 17th, line 3 + 16 * 3 + 2, not. */
	expect_one(text, 53, "shard 's16': program strings overflow the 16384-byte");
	free(text);
}

/* ------------------------------------------------------------ channels */

/* Lines 1-6: two shards; a channel header on line 7. */
#define TWO BASE "[shard b]\ncpus = 2\n[channel c]\n"

Test(manifest, channel_from_unknown_shard)
{
	expect_one(TWO "from = x\nto = b\nslot_size = 8\nslots = 2\n", 8,
		   "channel 'c': from: no shard 'x'");
}

Test(manifest, channel_to_unknown_shard)
{
	expect_one(TWO "from = a\nslot_size = 8\nto = zz\nslots = 2\n", 10,
		   "channel 'c': to: no shard 'zz'");
}

Test(manifest, channel_endpoint_not_a_name)
{
	expect_one(TWO "from = A!\nto = b\nslot_size = 8\nslots = 2\n", 8,
		   "from 'A!' is not a valid shard name");
	expect_one(TWO "from = a\nto = \nslot_size = 8\nslots = 2\n", 9,
		   "to '' is not a valid shard name");
}

Test(manifest, channel_endpoint_names_a_refused_shard_once)
{
	/* The header is refused; the reference to it is a second problem. */
	struct load l = load_text(TWO "from = a\nto = b\nslot_size = 8\nslots = 2\n"
				  "[shard a]\ncpus = 3\n", w);

	cr_assert(has_error(&l, 12, "duplicate shard 'a'"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 1, "%s", l.errs);
	load_free(&l);
}

/* The image validator's refusals of a channel: at the channel's header. */
Test(manifest, channel_endpoints_equal)
{
	expect_one(TWO "from = b\nto = b\nslot_size = 8\nslots = 2\n", 7,
		   "channel 'c': both ends are shard 'b'");
}

Test(manifest, image_refusal_names_the_line_of_its_channel)
{
	/* Channels c (line 7) and d (line 12); the image's channel 1 is d. */
	expect_one(TWO "from = a\nto = b\nslot_size = 8\nslots = 2\n"
		   "[channel d]\nfrom = a\nto = a\nslot_size = 8\nslots = 2\n",
		   12, "channel 'd': both ends are shard 'a'");
}

Test(manifest, image_refusals_wait_for_the_manifests_own)
{
	/* The validator sees only an image, so only a manifest without errors. */
	expect_one(TWO "from = b\nto = b\nslot_size = 8\nslots = 3\n", 11,
		   "channel 'c': slots 3 is not a power of two");
}

Test(manifest, channel_before_its_shards)
{
	struct load l = load_text("[system]\nname = s\n"
				  "[channel c]\nfrom = y\nto = x\nslot_size = 8\nslots = 2\n"
				  "[shard x]\ncpus = 1\n[shard y]\ncpus = 2\n", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->channels[0].from, 1);
	cr_assert_eq(w->channels[0].to, 0);
	load_free(&l);
}

Test(manifest, slot_size_not_a_number)
{
	expect_one(TWO "from = a\nto = b\nslot_size = big\nslots = 2\n", 10,
		   "channel 'c': slot_size 'big' is not a number");
	expect_one(TWO "from = a\nto = b\nslot_size = 64B\nslots = 2\n", 10,
		   "slot_size '64B' is not a number");
	expect_one(TWO "from = a\nto = b\nslot_size = -8\nslots = 2\n", 10,
		   "slot_size '-8' is not a number");
	expect_one(TWO "from = a\nto = b\nslot_size =\nslots = 2\n", 10,
		   "slot_size '' is not a number");
}

Test(manifest, slot_size_not_a_power_of_two)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 100\nslots = 2\n", 10,
		   "channel 'c': slot_size 100 is not a power of two");
	expect_one(TWO "from = a\nto = b\nslot_size = 0\nslots = 2\n", 10,
		   "slot_size 0 is not a power of two");
}

Test(manifest, slot_size_below_minimum)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 4\nslots = 2\n", 10,
		   "slot_size 4 is below the minimum 8");
}

Test(manifest, slot_size_above_maximum)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 131072\nslots = 2\n", 10,
		   "slot_size 131072 exceeds the maximum 65536");
	expect_one(TWO "from = a\nto = b\nslot_size = 18446744073709551616\n"
		   "slots = 2\n", 10, "exceeds the maximum 65536");
}

Test(manifest, slots_not_a_power_of_two)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 8\nslots = 1000\n", 11,
		   "channel 'c': slots 1000 is not a power of two");
}

Test(manifest, slots_below_minimum)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 8\nslots = 1\n", 11,
		   "slots 1 is below the minimum 2");
}

Test(manifest, slots_above_maximum)
{
	expect_one(TWO "from = a\nto = b\nslot_size = 8\nslots = 2097152\n", 11,
		   "slots 2097152 exceeds the maximum 1048576");
}

Test(manifest, channel_data_over_the_limit)
{
	expect_one(TWO "from = a\nto = b\nslots = 8192\nslot_size = 65536\n", 7,
		   "channel 'c': 536870912 bytes of slots exceed 268435456");
}

Test(manifest, channel_data_at_the_limit)
{
	expect_ok(TWO "from = a\nto = b\nslots = 4096\nslot_size = 65536\n");
}

Test(manifest, ring_entries_default_and_set)
{
	struct load l = load_text(BASE "ring_entries = 256\n", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].ring_entries, 256);
	load_free(&l);
	l = load_text(BASE, w);
	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].ring_entries, 0, "0 means the default");
	load_free(&l);
}

Test(manifest, ring_entries_must_be_a_bounded_power_of_two)
{
	expect_one(BASE "ring_entries = 100\n", 5,
		   "ring_entries 100 is not a power of two");
	expect_one(BASE "ring_entries = 1\n", 5, "ring_entries 1");
	expect_one(BASE "ring_entries = 8192\n", 5, "ring_entries 8192");
}

Test(manifest, restart_policy)
{
	struct load l = load_text(BASE "restart = on-failure\n", w);

	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].flags & VANITY_SHARD_F_RESTART, VANITY_SHARD_F_RESTART);
	load_free(&l);
	l = load_text(BASE "restart = never\n", w);
	cr_assert_eq(l.ret, 0, "%s", l.errs);
	cr_assert_eq(w->shards[0].flags & VANITY_SHARD_F_RESTART, 0);
	load_free(&l);
	expect_one(BASE "restart = always\n", 5,
		   "restart 'always': want never or on-failure");
}

/* ------------------------------------------------------------- devices */

/*
 * Lines 1-19: shards a (1M of memory), b and c (none); channels ab (a to
 * b) and bc (b to c); a device header on line 20.
 */
#define DEVS "[system]\nname = s\n"					\
	"[shard a]\ncpus = 1\nmemory = 1M\n"				\
	"[shard b]\ncpus = 2\n"						\
	"[channel ab]\nfrom = a\nto = b\nslot_size = 8\nslots = 2\n"	\
	"[shard c]\ncpus = 3\n"						\
	"[channel bc]\nfrom = b\nto = c\nslot_size = 8\nslots = 2\n"	\
	"[device edu]\n"

/* The image @text compiles to, checked; free() it. */
static void *image_of(const char *text, size_t *len)
{
	struct load l = load_text(text, w);
	struct vanity_diag d;
	void *img;

	cr_assert_eq(l.ret, 0, "refused:\n%s", l.errs);
	cr_assert_str_empty(l.errs);
	load_free(&l);
	cr_assert_eq(vanity_imgw_finish(w, &img, len), 0);
	cr_assert_eq(vanity_image_check(img, *len, &d), 0, "%s", d.msg);
	return img;
}

Test(manifest, devices_build_into_the_image)
{
	const struct vanity_image_device *edu, *nic;
	size_t len;
	void *img = image_of(DEVS "pci = 0000:00:03.0\nshard = a\n"
			     "dma = private, ab\n"
			     "[device nic]\npci = 01:1F.7\nshard = b\n"
			     "dma = ab , bc\n", &len);

	cr_assert_eq(vanity_image_hdr(img)->features_incompat,
		     VANITY_IMAGE_INCOMPAT_DEVICES);
	cr_assert_eq(vanity_image_device_count(img), 2);
	edu = vanity_image_device(img, 0);
	cr_assert_str_eq(edu->name, "edu");
	cr_assert_eq(edu->pci_domain, 0);
	cr_assert_eq(edu->pci_bus, 0);
	cr_assert_eq(edu->pci_devfn, 3 << 3);
	cr_assert_eq(edu->shard, 0);
	cr_assert_eq(edu->flags, VANITY_DEVICE_F_DMA_PRIVATE);
	cr_assert_eq(edu->dma_channels[0], 1, "ab is channel 0");
	nic = vanity_image_device(img, 1);
	cr_assert_str_eq(nic->name, "nic");
	cr_assert_eq(nic->pci_domain, 0, "BB:DD.F is domain 0");
	cr_assert_eq(nic->pci_bus, 1);
	cr_assert_eq(nic->pci_devfn, 0x1f << 3 | 7);
	cr_assert_eq(nic->shard, 1);
	cr_assert_eq(nic->flags, 0);
	cr_assert_eq(nic->dma_channels[0], 1 | 1 << 1);
	free(img);
}

Test(manifest, device_dma_defaults_to_the_private_region)
{
	size_t len;
	void *img = image_of(DEVS "pci = 00:03.0\nshard = a\n", &len);

	cr_assert_eq(vanity_image_device(img, 0)->flags,
		     VANITY_DEVICE_F_DMA_PRIVATE);
	cr_assert_eq(vanity_image_device(img, 0)->dma_channels[0], 0);
	free(img);
}

Test(manifest, device_dma_none_is_no_dma_at_all)
{
	size_t len;
	void *img = image_of(DEVS "pci = 00:03.0\nshard = b\ndma =  none \n",
			     &len);

	cr_assert_eq(vanity_image_device(img, 0)->flags, 0);
	cr_assert_eq(vanity_image_device(img, 0)->dma_channels[0], 0);
	free(img);
}

Test(manifest, device_before_its_shard_and_channel)
{
	size_t len;
	void *img = image_of("[system]\nname = s\n"
			     "[device d]\npci = 00:03.0\nshard = y\ndma = private,c\n"
			     "[channel c]\nfrom = y\nto = x\nslot_size = 8\nslots = 2\n"
			     "[shard x]\ncpus = 1\n[shard y]\ncpus = 2\nmemory = 4K\n",
			     &len);

	cr_assert_eq(vanity_image_device(img, 0)->shard, 1);
	cr_assert_eq(vanity_image_device(img, 0)->dma_channels[0], 1);
	free(img);
}

Test(manifest, devices_have_a_namespace_of_their_own)
{
	size_t len;
	void *img = image_of(DEVS "pci = 00:03.0\nshard = a\n"
			     "[device a]\npci = 00:04.0\nshard = b\ndma = ab\n", &len);

	cr_assert_eq(vanity_image_find_device(img, "a"), 1);
	free(img);
}

Test(manifest, no_device_no_devices_section)
{
	size_t len;
	void *img = image_of(BASE, &len);

	cr_assert_eq(vanity_image_hdr(img)->features_incompat, 0);
	cr_assert_eq(vanity_image_hdr(img)->section_count, 3);
	cr_assert_eq(vanity_image_device_count(img), 0);
	free(img);
}

Test(manifest, device_pci_not_an_address)
{
	expect_one(DEVS "pci = 00:03\nshard = a\n", 21,
		   "device 'edu': pci: '00:03' is not a PCI address (DDDD:BB:DD.F)");
	expect_one(DEVS "pci = 0000:00:03:0\nshard = a\n", 21,
		   "pci: '0000:00:03:0' is not a PCI address");
	expect_one(DEVS "pci = \nshard = a\n", 21,
		   "pci: '' is not a PCI address");
}

Test(manifest, device_pci_takes_a_comment_after_it)
{
	size_t len;
	void *img = image_of(DEVS "pci = 0000:00:03.0 \t; the edu\nshard = a\n",
			     &len);

	cr_assert_eq(vanity_image_device(img, 0)->pci_devfn, 3 << 3);
	free(img);
}

Test(manifest, device_pci_device_or_function_out_of_range)
{
	expect_one(DEVS "pci = 00:20.0\nshard = a\n", 21,
		   "device 'edu': pci: device 20 is above 1f in '00:20.0'");
	expect_one(DEVS "pci = 00:03.8\nshard = a\n", 21,
		   "device 'edu': pci: function 8 is above 7 in '00:03.8'");
}

Test(manifest, device_missing_pci)
{
	expect_one(DEVS "shard = a\n", 20, "device 'edu': missing key 'pci'");
}

Test(manifest, device_missing_shard)
{
	expect_one(DEVS "pci = 00:03.0\n", 20, "device 'edu': missing key 'shard'");
}

Test(manifest, device_of_an_unknown_shard)
{
	/* Said once: without an owner, nothing about its memory is known. */
	expect_one(DEVS "pci = 00:03.0\nshard = zz\n", 22,
		   "device 'edu': shard: no shard 'zz'");
}

Test(manifest, device_shard_not_a_name)
{
	expect_one(DEVS "pci = 00:03.0\nshard = A\n", 22,
		   "device 'edu': shard 'A' is not a valid shard name");
}

Test(manifest, device_dma_into_an_unknown_channel)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = private, nope\n", 23,
		   "device 'edu': dma: no channel 'nope'");
}

Test(manifest, device_dma_into_a_channel_its_owner_is_not_an_end_of)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = bc\n", 23,
		   "device 'edu': dma: shard 'a' is not an endpoint of channel 'bc'");
}

Test(manifest, device_dma_private_when_its_owner_has_no_memory)
{
	expect_one(DEVS "pci = 00:03.0\nshard = b\ndma = ab, private\n", 23,
		   "device 'edu': dma: private, but shard 'b' has no memory");
}

Test(manifest, device_dma_private_by_default_when_its_owner_has_no_memory)
{
	expect_one(DEVS "pci = 00:03.0\nshard = b\n", 20,
		   "device 'edu': dma defaults to private, but shard 'b' has no memory");
}

Test(manifest, device_dma_private_with_a_refused_memory_is_said_once)
{
	expect_one("[system]\nname = s\n[shard a]\ncpus = 1\nmemory = 5\n"
		   "[device d]\npci = 00:03.0\nshard = a\n", 5,
		   "memory 5 is not a multiple of 4096 bytes");
}

Test(manifest, device_dma_item_listed_twice)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = ab, private, ab\n", 23,
		   "device 'edu': dma: channel 'ab' is listed twice");
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = private,private\n", 23,
		   "device 'edu': dma: 'private' is listed twice");
}

Test(manifest, device_dma_none_must_stand_alone)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = none, ab\n", 23,
		   "device 'edu': dma: 'none' must stand alone");
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = private, none\n", 23,
		   "dma: 'none' must stand alone");
}

Test(manifest, device_dma_empty_item)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = private,, ab\n", 23,
		   "device 'edu': dma: empty item");
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = ab,\n", 23,
		   "dma: empty item");
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = , ab\n", 23,
		   "dma: empty item");
}

Test(manifest, device_dma_empty)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma =\n", 23,
		   "device 'edu': dma is empty: want private, channel names, or none");
}

Test(manifest, device_dma_item_not_a_name)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = private ab\n", 23,
		   "device 'edu': dma: 'private ab' is not a valid channel name");
	expect_one(DEVS "pci = 00:03.0\nshard = a\ndma = AB\n", 23,
		   "dma: 'AB' is not a valid channel name");
}

Test(manifest, device_address_used_twice)
{
	/* The same function however it is written. */
	expect_one(DEVS "pci = 0000:00:03.0\nshard = a\n"
		   "[device nic]\npci = 00:03.0\nshard = a\n", 24,
		   "device 'nic': pci 0000:00:03.0 is also device 'edu' (line 21)");
}

Test(manifest, device_name_used_twice)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\n"
		   "[device edu]\npci = 00:04.0\nshard = a\n", 23,
		   "duplicate device 'edu' (first at line 20)");
}

Test(manifest, device_section_needs_a_good_name)
{
	expect_one(BASE "[device]\npci = 00:03.0\n", 5,
		   "device section needs a name: [device NAME]");
	expect_one(BASE "[device Edu]\npci = 00:03.0\n", 5,
		   "bad device name 'Edu': want 1-31 of [a-z0-9_-]");
}

Test(manifest, device_keys_are_its_own)
{
	expect_one(DEVS "pci = 00:03.0\nshard = a\ncpus = 1\n", 23,
		   "device 'edu': unknown key 'cpus'");
	expect_one(BASE "pci = 00:03.0\n", 5, "shard 'a': unknown key 'pci'");
}

Test(manifest, device_problems_are_each_reported_in_line_order)
{
	struct load l = load_text(DEVS "pci = 00:03.0\nshard = b\n"
				  "dma = private, nope, bc\n"
				  "[device nic]\npci = 00:03.0\nshard = zz\n", w);

	cr_assert_eq(l.ret, -1);
	cr_assert(has_error(&l, 23, "dma: no channel 'nope'"), "%s", l.errs);
	cr_assert(has_error(&l, 23, "dma: private, but shard 'b' has no memory"),
		  "%s", l.errs);
	cr_assert(has_error(&l, 25, "pci 0000:00:03.0 is also device 'edu'"),
		  "%s", l.errs);
	cr_assert(has_error(&l, 26, "shard: no shard 'zz'"), "%s", l.errs);
	cr_assert_eq(l.nerrs, 4, "%s", l.errs);
	load_free(&l);
}

Test(manifest, too_many_devices)
{
	char *text = NULL, *more;
	size_t i;

	cr_assert(asprintf(&text, BASE) > 0);
	for (i = 0; i <= VANITY_MAX_DEVICES; i++) {
		cr_assert(asprintf(&more, "%s[device d%zu]\npci = %02zx:00.0\n"
				   "shard = a\ndma = none\n", text, i, i) > 0);
		free(text);
		text = more;
	}
	/* The 33rd header is on line 5 + 32 * 4. */
	expect_one(text, 133, "too many devices (max 32)");
	free(text);
}
