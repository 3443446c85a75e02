// SPDX-License-Identifier: GPL-2.0
/*
 * vanityctl build: exit status, where the image goes, and that a failed
 * build leaves no file behind and an existing image untouched.
 */
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "cmd.h"
#include "helpers.h"

static const char good[] =
	"[system]\nname = demo\n"
	"[shard p]\ncpus = 2\nmemory = 4K\nprogram = ./p\n"
	"[shard q]\ncpus = 3\n"
	"[channel d]\nfrom = p\nto = q\nslot_size = 64\nslots = 16\n";
static const char bad[] = "[system]\nname = demo\n[shard p]\ncpus = 2x\n";

static char *dir;

static void setup(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
	dir = scratch_dir();
}

static void teardown(void)
{
	free(dir);
	scratch_cleanup();
}

TestSuite(build, .init = setup, .fini = teardown);

static int run(const char *a1, const char *a2, const char *a3, const char *a4)
{
	char *argv[] = { "build", (char *)a1, (char *)a2, (char *)a3,
			 (char *)a4, NULL };
	int argc = 1;

	while (argv[argc])
		argc++;
	return vanity_cmd_build(argc, argv);
}

static char *path_in(const char *name)
{
	char *p;

	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

static void assert_valid_image(const char *path)
{
	struct vanity_diag d;
	size_t len;
	char *img = read_all(path, &len);

	cr_assert_not_null(img, "no image at %s", path);
	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);
	cr_assert_str_eq(vanity_image_hdr(img)->name, "demo");
	cr_assert_eq(vanity_image_hdr(img)->shard_count, 2);
	cr_assert_eq(vanity_image_hdr(img)->channel_count, 1);
	free(img);
}

Test(build, writes_the_image_next_to_the_manifest)
{
	char *m = write_text(dir, "demo.ini", good), *out = path_in("demo.vimg");

	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	assert_valid_image(out);
	cr_assert_eq(dir_entries(dir), 2, "temp files left behind");
	free(m);
	free(out);
}

Test(build, appends_vimg_when_the_manifest_is_not_ini)
{
	char *m = write_text(dir, "demo.conf", good);
	char *out = path_in("demo.conf.vimg");

	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	assert_valid_image(out);
	free(m);
	free(out);
}

Test(build, output_option_forms)
{
	char *m = write_text(dir, "demo.ini", good);
	char *o1 = path_in("one.img"), *o2 = path_in("two.img");
	char *o3 = path_in("three.img"), *arg2, *arg3;

	cr_assert(asprintf(&arg2, "--output=%s", o2) > 0);
	cr_assert(asprintf(&arg3, "-o%s", o3) > 0);
	cr_assert_eq(run("-o", o1, m, NULL), 0);
	cr_assert_eq(run(m, arg2, NULL, NULL), 0);
	cr_assert_eq(run(arg3, m, NULL, NULL), 0);
	assert_valid_image(o1);
	assert_valid_image(o2);
	assert_valid_image(o3);
	cr_assert_eq(dir_entries(dir), 4);
	free(m);
	free(o1);
	free(o2);
	free(o3);
	free(arg2);
	free(arg3);
}

Test(build, replaces_an_existing_image)
{
	char *m = write_text(dir, "demo.ini", good);
	char *out = write_text(dir, "demo.vimg", "old contents");

	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	assert_valid_image(out);
	cr_assert_eq(dir_entries(dir), 2);
	free(m);
	free(out);
}

Test(build, image_mode_follows_the_umask)
{
	char *m = write_text(dir, "demo.ini", good), *out = path_in("demo.vimg");
	struct stat st;

	umask(027);
	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	cr_assert_eq(stat(out, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
	free(m);
	free(out);
}

Test(build, failed_build_leaves_no_file)
{
	char *m = write_text(dir, "demo.ini", bad), *out = path_in("demo.vimg");

	cr_assert_eq(run(m, NULL, NULL, NULL), 1);
	cr_assert(!exists(out));
	cr_assert_eq(dir_entries(dir), 1);
	free(m);
	free(out);
}

Test(build, failed_build_leaves_an_existing_image_untouched)
{
	char *m = write_text(dir, "demo.ini", bad);
	char *out = write_text(dir, "demo.vimg", "previous image");
	char *now;

	cr_assert_eq(run(m, "-o", out, NULL), 1);
	now = read_all(out, NULL);
	cr_assert_str_eq(now, "previous image");
	cr_assert_eq(dir_entries(dir), 2);
	free(now);
	free(m);
	free(out);
}

Test(build, manifest_errors_go_to_stderr_with_file_and_line)
{
	char *m = write_text(dir, "demo.ini", bad), *want;

	cr_assert_eq(run(m, NULL, NULL, NULL), 1);
	fflush(stderr);
	cr_assert(asprintf(&want, "%s:4: shard 'p': cpus: unexpected 'x' in cpu list\n",
			   m) > 0);
	cr_assert_stderr_eq_str(want);
	free(want);
	free(m);
}

Test(build, missing_output_directory)
{
	char *m = write_text(dir, "demo.ini", good), *out = path_in("no/such.vimg");

	cr_assert_eq(run(m, "-o", out, NULL), 1);
	cr_assert_eq(dir_entries(dir), 1);
	free(m);
	free(out);
}

Test(build, output_is_a_directory)
{
	char *m = write_text(dir, "demo.ini", good), *out = path_in("sub");

	cr_assert_eq(mkdir(out, 0755), 0);
	cr_assert_eq(run(m, "-o", out, NULL), 1);
	cr_assert_eq(dir_entries(dir), 2, "temp file left behind");
	cr_assert_eq(dir_entries(out), 0);
	free(m);
	free(out);
}

Test(build, refuses_to_overwrite_the_manifest)
{
	char *m = write_text(dir, "demo.ini", good), *now;

	cr_assert_eq(run(m, "-o", m, NULL), 1);
	now = read_all(m, NULL);
	cr_assert_str_eq(now, good);
	cr_assert_eq(dir_entries(dir), 1);
	free(now);
	free(m);
}

Test(build, missing_manifest_file)
{
	char *m = path_in("absent.ini");

	cr_assert_eq(run(m, NULL, NULL, NULL), 1);
	cr_assert_eq(dir_entries(dir), 0);
	free(m);
}

Test(build, json_result)
{
	char *m = write_text(dir, "demo.ini", good), *out = path_in("o\"1.vimg");
	char *want;

	cr_assert_eq(run("-j", m, "-o", out), 0);
	fflush(stdout);
	/* 128 header + 2 * 200 shards + 64 channel + "\0./p\0" padded to 8 */
	cr_assert(asprintf(&want, "{\"image\":\"%s/o\\\"1.vimg\",\"system\":\"demo\","
			   "\"bytes\":672,\"shards\":2,\"channels\":1}\n", dir) > 0);
	cr_assert_stdout_eq_str(want);
	free(want);
	free(m);
	free(out);
}

Test(build, plain_result)
{
	char *m = write_text(dir, "demo.ini", good), *want;

	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	fflush(stdout);
	cr_assert(asprintf(&want, "%s/demo.vimg: system 'demo', 2 shards, "
			   "1 channel, 672 bytes\n", dir) > 0);
	cr_assert_stdout_eq_str(want);
	free(want);
	free(m);
}

Test(build, double_dash_ends_options)
{
	char *m = write_text(dir, "-demo.ini", good);

	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(run("--", "-demo.ini", NULL, NULL), 0);
	assert_valid_image("-demo.vimg");
	free(m);
}

Test(build, help_goes_to_stdout_and_succeeds)
{
	cr_assert_eq(run("--help", NULL, NULL, NULL), 0);
	cr_assert_eq(run("-h", "ignored.ini", NULL, NULL), 0);
	fflush(stdout);
	cr_assert_stdout_neq_str("");
	cr_assert_eq(dir_entries(dir), 0);
}

Test(build, usage_errors)
{
	char *m = write_text(dir, "demo.ini", good);

	cr_assert_eq(run(NULL, NULL, NULL, NULL), 1, "no manifest");
	cr_assert_eq(run(m, m, NULL, NULL), 1, "two manifests");
	cr_assert_eq(run(m, "-x", NULL, NULL), 1, "unknown option");
	cr_assert_eq(run(m, "--frobnicate", NULL, NULL), 1, "unknown option");
	cr_assert_eq(run(m, "-o", NULL, NULL), 1, "-o without a value");
	cr_assert_eq(run(m, "-o", "", NULL), 1, "empty output");
	cr_assert_eq(run(m, "--output=", NULL, NULL), 1, "empty output");
	cr_assert_eq(dir_entries(dir), 1);
	free(m);
}

/* A shard without a user is the system owner's, in the image itself. */
Test(build, a_shard_without_a_user_is_the_system_owners)
{
	static const char text[] =
		"[system]\nname = demo\n"
		"[shard p]\ncpus = 2\nprogram = ./p\n"
		"[shard q]\ncpus = 3\nuser = root\nprogram = ./q\n";
	char *m = write_text(dir, "demo.ini", text), *out = path_in("demo.vimg");
	size_t len;
	char *img;

	cr_assert_eq(run(m, NULL, NULL, NULL), 0);
	img = read_all(out, &len);
	cr_assert_not_null(img);
	cr_assert_eq(vanity_image_shard(img, 0)->flags, VANITY_SHARD_F_SYSTEM_OWNER);
	cr_assert_eq(vanity_image_shard(img, 0)->uid, 0);
	cr_assert_eq(vanity_image_shard(img, 1)->flags, 0, "named root is root");
	cr_assert_eq(vanity_image_shard(img, 1)->uid, 0);
	free(img);
	free(m);
	free(out);
}

/*
 * Who may start a shard's program is run's question, not build's: an
 * ordinary user builds a manifest that names root like any other.
 */
Test(build, builds_a_manifest_naming_another_user_for_anyone)
{
	static const char text[] =
		"[system]\nname = demo\n[shard p]\ncpus = 2\nuser = root\nprogram = ./p\n";
	char *m = write_text(dir, "demo.ini", text), *out = path_in("demo.vimg");
	struct vanity_diag d;
	size_t len;
	char *img;
	pid_t pid;
	int st;

	cr_assert_eq(chmod(dir, 0777), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
			_exit(10);
		_exit(run(m, "-o", out, NULL));
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x", st);
	img = read_all(out, &len);
	cr_assert_not_null(img, "no image");
	cr_assert_eq(vanity_image_check(img, len, &d), 0, "%s", d.msg);
	cr_assert_eq(vanity_image_shard(img, 0)->flags, 0);
	cr_assert_eq(vanity_image_shard(img, 0)->uid, 0);
	free(img);
	free(m);
	free(out);
}
