#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/hosted/readme.sh: the README's hosted commands (hello, the pipeline)
# run as an ordinary user, and run's up-front refusal of another user's shard.
#
# Prints one line per check, "readme: ok NAME" or "readme: FAIL NAME" (why
# on stderr), and exits 1 when any failed. Run as root (CI), it copies what
# the commands use (tools/vanityctl, lib/libvanity.so*, examples/) into a
# fresh directory owned by nobody, as a user's own build would be, and runs
# them there with runuser; as anyone else, it runs them in the tree itself.
# The simulator needs nothing else: its socket goes in a mkdtemp directory
# under /tmp, its regions and the run pages are memfds.
set -euo pipefail

tree=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
limit=20			# seconds per run (each takes about 1 here); a hang fails
fail=0
# Under /tmp, as the simulator's socket: user nobody can reach it there,
# whatever $TMPDIR says.
scratch=$(mktemp -d /tmp/vanity-readme.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
chmod 0755 "$scratch"

for f in tools/vanityctl lib/libvanity.so examples/hello/hello \
	 examples/pipeline/route; do
	if [ ! -e "$tree/$f" ]; then
		echo "readme: FAIL build"
		echo "readme: no $tree/$f: run make first" >&2
		exit 1
	fi
done

if [ "$(id -u)" = 0 ]; then
	user=nobody
	home=$scratch/tree
	mkdir -p "$home/tools" "$home/lib"
	cp -a "$tree/tools/vanityctl" "$home/tools/"
	cp -a "$tree"/lib/libvanity.so* "$home/lib/"
	cp -a "$tree/examples" "$home/"
	chown -R "$user" "$home"
	as=(runuser -u "$user" --)
else
	user=$(id -un)
	home=$tree
	as=()
fi
uid=$(id -u "$user")
# The README's commands find no module and run on the simulator; if this
# machine has one loaded, say so, as --backend is documented.
hosted=()
[ -e /dev/vanity ] && hosted=(--backend hosted)

ok() { echo "readme: ok $1"; }
bad() {
	echo "readme: FAIL $1"
	shift
	printf 'readme: %s\n' "$@" >&2
	fail=1
}

# vanityctl run MANIFEST as $user in $home; sets rc, out (stdout), err (stderr).
run_as() {
	local log=$scratch/$1
	rc=0
	(cd "$home" && env -u VANITY_BACKEND -u VANITY_SOCKET -u VANITY_SHARD \
		timeout -k 5 "$limit" "${as[@]}" tools/vanityctl run "$2" "${hosted[@]}" \
		>"$log.out" 2>"$log.err") || rc=$?
	out=$(cat "$log.out")
	err=$(cat "$log.err")
}

# The summary line of a run whose programs all exited 0.
summary_ok() {
	grep -q '^{"event":"summary",.*"ok":true' <<<"$out"
}

# ------------------------------------------------------------------ hello
run_as hello examples/hello/hello.ini
if [ "$rc" = 0 ] && summary_ok; then
	ok hello
else
	bad hello "hello as $user: exit $rc" "$(tail -n 5 <<<"$err"$'\n'"$out")"
fi

# --------------------------------------------------------------- pipeline
# Every frame route forwarded reaches the sink: the routes need no file.
run_as pipeline examples/pipeline/pipeline.ini
rx=$(sed -n 's/.*"json":{"shard":"route","rx":\([0-9]*\),"tx":\([0-9]*\),.*/\1 \2/p' <<<"$out")
sink=$(sed -n 's/.*"json":{"shard":"sink",.*"delivered":\([0-9]*\),.*/\1/p' <<<"$out")
if [ "$rc" = 0 ] && summary_ok && [ -n "$rx" ] && [ "${rx#* }" = "$sink" ] &&
   [ "${sink:-0}" -gt 0 ]; then
	ok pipeline
else
	bad pipeline "pipeline as $user: exit $rc, route rx/tx '$rx', sink delivered '$sink'" \
		"$(tail -n 5 <<<"$err"$'\n'"$out")"
fi

# ------------------------------------------------------- from-elsewhere
# The manifest's ./NAME programs are found beside it, wherever run starts.
rc=0
(cd / && env -u VANITY_BACKEND -u VANITY_SOCKET -u VANITY_SHARD \
	timeout -k 5 "$limit" "${as[@]}" "$home/tools/vanityctl" run \
	"$home/examples/hello/hello.ini" "${hosted[@]}" \
	>"$scratch/elsewhere.out" 2>"$scratch/elsewhere.err") || rc=$?
out=$(cat "$scratch/elsewhere.out")
err=$(cat "$scratch/elsewhere.err")
if [ "$rc" = 0 ] && summary_ok; then
	ok hello-from-elsewhere
else
	bad hello-from-elsewhere "hello from / as $user: exit $rc" \
		"$(tail -n 5 <<<"$err"$'\n'"$out")"
fi

# ---------------------------------------------------- refuse-other-user
# A shard that names root, run by $user: one sentence naming the file, the
# line of 'user', the shard and the user, exit 1, nothing started.
m=$scratch/other-user.ini
sed '/^\[shard left\]/a user = root' "$tree/examples/hello/hello.ini" >"$m"
line=$(grep -n '^user = root$' "$m" | cut -d: -f1)
want="$m:$line: shard 'left': cannot start its program as user 'root' (uid 0): vanityctl runs as uid $uid, not as root or that user"
run_as refuse "$m"
if [ "$rc" = 1 ] && [ "$err" = "$want" ] && [ -z "$out" ]; then
	ok refuse-other-user
else
	bad refuse-other-user "exit $rc (want 1), stderr:" "$err" "want:" "$want" \
		"stdout: $(head -c 300 <<<"$out")"
fi

exit "$fail"
