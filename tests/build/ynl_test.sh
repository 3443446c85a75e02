#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# tests/build/ynl_test.sh: the YNL spec of the generic netlink family
# (include/uapi/linux/vanity.genl.yaml) and the UAPI header agree, and the
# module and vanityctl use the attributes as the spec types them:
#   - every command, attribute set, attribute, multicast group, the family
#     name and version: same names and values both ways (values as the
#     compiler sees them, so an implicit enum value counts as written);
#   - each attribute's type against the header's comment, the module's
#     policy and nla_put_*() calls, and vanityctl's nla_get_*() calls;
#   - the module's op table against the spec's requests (admin-perm as
#     GENL_ADMIN_PERM), its groups against the spec's, no notification
#     registered as an op, every reference inside the spec resolved;
#   - that these checks catch a renumbered attribute, a wrong type and a
#     missing command (the spec mutated in memory);
#   - the spec against the kernel's genetlink-legacy.yaml schema when a
#     linux-source tarball has one (Debian's 6.1 has none: only fou.yaml)
#     or YNL_SCHEMA names it, and python3-jsonschema is there; otherwise
#     one "ynl: skip schema: WHY" line.
# Needs python3 with PyYAML (Debian: python3-yaml) and a C compiler.
# Prints "ynl: ok CHECK" or "ynl: FAIL CHECK: WHY" per check; exits 1
# when any failed. YNL_SPEC, YNL_HEADER: check other files (for tests).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
cd "$tree" || exit 1
py=${PYTHON:-/usr/bin/python3}
spec=${YNL_SPEC:-include/uapi/linux/vanity.genl.yaml}
header=${YNL_HEADER:-include/uapi/linux/vanity.h}
out=$tree/build/ynl
mkdir -p "$out"

if ! "$py" -c 'import yaml' 2>/dev/null; then
	echo "ynl: FAIL pyyaml: $py cannot import yaml (Debian: python3-yaml)"
	exit 1
fi

# The schema: YNL_SCHEMA, else the newest linux-source tarball's, cached
# (14 s to look through one) with a mark when it has none.
schema=${YNL_SCHEMA:-}
if [ -z "$schema" ]; then
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$tarball" ]; then
		if [ ! -e "$out/schema.looked" ] || [ "$tarball" -nt "$out/schema.looked" ]; then
			rm -f "$out/genetlink-legacy.yaml"
			tar -xJf "$tarball" -O --wildcards \
				'*/Documentation/netlink/genetlink-legacy.yaml' \
				>"$out/genetlink-legacy.yaml" 2>/dev/null ||
				rm -f "$out/genetlink-legacy.yaml"
			[ -s "$out/genetlink-legacy.yaml" ] || rm -f "$out/genetlink-legacy.yaml"
			echo "$tarball" >"$out/schema.looked"
		fi
		[ ! -e "$out/genetlink-legacy.yaml" ] || schema=$out/genetlink-legacy.yaml
	fi
	[ -n "$schema" ] || schema="none:$(basename "${tarball:-no linux-source tarball}") has no Documentation/netlink/genetlink-legacy.yaml (YNL_SCHEMA=FILE to name one)"
fi

exec "$py" - "$spec" "$header" "$schema" "${CC:-cc}" "$out" <<'PYEOF'
import copy
import glob
import os
import re
import subprocess
import sys

import yaml

spec_path, header_path, schema_path, cc, out = sys.argv[1:6]
failed = 0


def report(name, why):
    global failed
    if why:
        failed += 1
        print(f"ynl: FAIL {name}: {why}")
    else:
        print(f"ynl: ok {name}")


def c_upper(s):
    return s.upper().replace("-", "_")


def read(path):
    with open(path) as f:
        return f.read()


# ------------------------------------------------------------ the header
htext = read(header_path)
mark = 'Generic netlink family "vanity"'
nl_text = htext[htext.find(mark):] if mark in htext else ""


def header_enums(text):
    """{enum name: [(enumerator, comment)]} of the netlink section."""
    enums = {}
    for m in re.finditer(r"enum\s+(\w+)\s*\{(.*?)\};", text, re.S):
        items = []
        body = m.group(2)
        # A trailing comment belongs to the enumerator on its line.
        for line_m in re.finditer(
                r"^[ \t]*(\w+)[ \t]*(?:=[^,\n]*)?,[ \t]*(?:/\*(.*?)(?:\*/|$))?",
                body, re.M):
            items.append((line_m.group(1), (line_m.group(2) or "").strip()))
        enums[m.group(1)] = items
    return enums


henums = header_enums(nl_text)
hmacros = dict(re.findall(r"^#define\s+(VANITY_\w+)\s+(.+?)\s*(?:/\*.*)?$",
                          nl_text, re.M))

# Values as the compiler sees them.
names = [n for items in henums.values() for n, _ in items]
ints = [n for n, v in hmacros.items() if not v.startswith('"')]
strs = [n for n, v in hmacros.items() if v.startswith('"')]
kernel_src = "\n".join(read(p) for p in sorted(glob.glob("kmod/*.c")))
client_src = "\n".join(read(p) for p in sorted(glob.glob("tools/ctl/*.c")))
policy_lens = re.findall(r"\.len\s*=\s*(VANITY_\w+)", kernel_src)
ints += [n for n in policy_lens if n not in ints]
prog = ["#include <stdio.h>", "#include <linux/vanity.h>", "int main(void)", "{"]
for n in names + ints:
    prog.append(f'\tprintf("%s %lld\\n", "{n}", (long long)({n}));')
for n in strs:
    prog.append(f'\tprintf("%s %s\\n", "{n}", {n});')
prog += ["\treturn 0;", "}"]
csrc, cbin = os.path.join(out, "values.c"), os.path.join(out, "values")
with open(csrc, "w") as f:
    f.write("\n".join(prog) + "\n")
inc = os.path.dirname(os.path.dirname(os.path.abspath(header_path)))
r = subprocess.run([cc, "-I", inc, "-o", cbin, csrc], capture_output=True,
                   text=True)
if r.returncode:
    report("header_values", "cannot compile the header's values: " +
           r.stderr.strip().splitlines()[-1])
    sys.exit(1)
hval = {}
for line in subprocess.run([cbin], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    k, v = line.split(" ", 1)
    hval[k] = int(v) if k not in strs else v

TYPE_WORDS = r"(u8|u16|u32|u64|s8|s16|s32|s64|string|binary|flag|nest)\b"


def expand(items, first):
    """[(name, value, item)]: explicit values, else one more than the last."""
    res, nxt = [], first
    for it in items:
        v = it.get("value", nxt)
        res.append((it["name"], v, it))
        nxt = v + 1
    return res


def check_all(spec, report):
    sets = {s["name"]: s for s in spec.get("attribute-sets", [])}
    ops = spec.get("operations", {})
    oplist = ops.get("list", [])
    groups = spec.get("mcast-groups", {}).get("list", [])
    family = spec.get("name", "")
    by_cname = {}       # C name of an attribute -> (set, attribute)

    # The family.
    why = []
    if spec.get("protocol") != "genetlink-legacy":
        why.append(f"protocol is {spec.get('protocol')}, not genetlink-legacy")
    fam_def = c_upper(spec.get("c-family-name", family + "-family-name"))
    ver_def = c_upper(spec.get("c-version-name", family + "-family-version"))
    if hval.get(fam_def) != family:
        why.append(f"{fam_def} is {hval.get(fam_def)!r}, the spec's name {family!r}")
    if hval.get(ver_def) != spec.get("version", 1):
        why.append(f"{ver_def} is {hval.get(ver_def)}, the spec's version {spec.get('version', 1)}")
    report("family_name_and_version", "; ".join(why))

    # Multicast groups both ways.
    why = []
    spec_grp = {}
    for g in groups:
        d = c_upper(g.get("c-define-name", f"{family}-mcgrp-{g['name']}"))
        spec_grp[d] = g
        if hval.get(d) != g["name"]:
            why.append(f"{d} is {hval.get(d)!r}, not {g['name']!r}")
    for d in strs:
        if "_MCGRP_" in d and d not in spec_grp:
            why.append(f"header group {d} is not in the spec")
    report("multicast_groups", "; ".join(why))

    # Commands both ways, and their count.
    def enum_check(label, ename, prefix, entries, cnt, mx):
        why = []
        want = {prefix + c_upper(n): v for n, v, _ in entries}
        have = [n for n, _ in henums.get(ename, [])]
        if ename not in henums:
            return f"no enum {ename} in the header"
        for n, v in want.items():
            if n not in hval:
                why.append(f"{n} missing from enum {ename}")
            elif hval[n] != v:
                why.append(f"{n} is {hval[n]} in the header, {v} in the spec")
        for n in have:
            if n not in want and n != cnt:
                why.append(f"{n} of the header is not in the spec")
        last = max(want.values()) if want else 0
        if hval.get(cnt) != last + 1:
            why.append(f"{cnt} is {hval.get(cnt)}, not {last + 1}")
        if hval.get(mx) != last:
            why.append(f"{mx} is {hval.get(mx)}, not {last}")
        return "; ".join(why)

    oprefix = c_upper(ops.get("name-prefix", family + "-cmd-"))
    oename = ops.get("enum-name", family + "_cmd")
    report("commands", enum_check("commands", oename, oprefix,
                                  expand(oplist, 1),
                                  "__" + oprefix + "MAX", oprefix + "MAX"))

    # Attribute sets both ways.
    for s in sets.values():
        prefix = c_upper(s.get("name-prefix", f"{family}-{s['name']}-a-"))
        ents = expand(s["attributes"], 1)
        for n, v, it in ents:
            by_cname[prefix + c_upper(n)] = (s, it)
        cnt = c_upper(s.get("attr-cnt-name", "__" + prefix + "MAX"))
        mx = c_upper(s.get("attr-max-name", prefix + "MAX"))
        report(f"attribute_set_{s['name']}",
               enum_check(s["name"], s.get("enum-name", ""), prefix, ents,
                          cnt, mx))
    named = {s.get("enum-name") for s in sets.values()} | {oename}
    extra = [e for e in henums if e not in named]
    report("no_header_enum_outside_the_spec",
           "; ".join(f"enum {e} is not in the spec" for e in extra))

    # References inside the spec.
    why = []
    for s in sets.values():
        for it in s["attributes"]:
            na = it.get("nested-attributes")
            if it.get("type") == "nest" and na not in sets:
                why.append(f"{s['name']}.{it['name']} nests unknown set {na}")
    for op in oplist:
        aset = sets.get(op.get("attribute-set", ""), {"attributes": []})
        anames = {a["name"] for a in aset["attributes"]}
        lists = [op.get("event", {})]
        for mode in ("do", "dump"):
            for part in ("request", "reply"):
                lists.append(op.get(mode, {}).get(part, {}))
        for lst in lists:
            for a in lst.get("attributes", []):
                if a not in anames:
                    why.append(f"op {op['name']} names unknown attribute {a}")
        if ("event" in op or "notify" in op) and op.get("mcgrp") not in \
                {g["name"] for g in groups}:
            why.append(f"notification {op['name']} has no known mcgrp")
    report("references_resolve", "; ".join(why))

    # Types: the header's comments, the module's policy and puts, the
    # client's gets.
    why = []
    for cname, hcomment in [i for items in henums.values() for i in items]:
        if cname not in by_cname:
            continue
        t = by_cname[cname][1].get("type")
        m = re.match(TYPE_WORDS, hcomment)
        if t in ("unused", "pad"):
            if m:
                why.append(f"{cname} is {t} in the spec, {m.group(1)} in the header")
        elif not m:
            why.append(f"{cname}: the header's comment names no type (spec: {t})")
        elif m.group(1) != t:
            why.append(f"{cname} is {m.group(1)} in the header, {t} in the spec")
    nla = {"BINARY": "binary", "FLAG": "flag", "U8": "u8", "U16": "u16",
           "U32": "u32", "U64": "u64", "S32": "s32", "S64": "s64",
           "STRING": "string", "NUL_STRING": "string", "NESTED": "nest"}
    uses = []
    for who, src in (("module", kernel_src), ("vanityctl", client_src)):
        for m in re.finditer(r"\[(VANITY_\w+)\]\s*=\s*\{\s*\.type\s*=\s*NLA_(\w+)"
                             r"(?:\s*,\s*\.len\s*=\s*(\w+))?", src):
            uses.append((who + "'s policy", m.group(1),
                         nla.get(m.group(2), m.group(2))))
            it = by_cname.get(m.group(1), (None, {}))[1]
            ml = it.get("checks", {}).get("max-len")
            if who == "module" and m.group(3) and ml is not None and \
                    hval.get(m.group(3)) != ml:
                why.append(f"{m.group(1)}: policy length {m.group(3)} = "
                           f"{hval.get(m.group(3))}, spec max-len {ml}")
        for m in re.finditer(r"nla_put_(\w+?)(?:_64bit)?\(\s*\w+,\s*(VANITY_\w+)", src):
            uses.append((who, m.group(2), m.group(1)))
        for m in re.finditer(r"nla_put\(\s*\w+,\s*(VANITY_\w+)", src):
            uses.append((who, m.group(1), "binary"))
        for m in re.finditer(r"nla_nest_start\w*\(\s*\w+,\s*(VANITY_\w+)", src):
            uses.append((who, m.group(1), "nest"))
        for m in re.finditer(r"nla_get_(\w+)\([^()]*\[(VANITY_\w+)\]\)", src):
            uses.append((who, m.group(2), m.group(1)))
    if not uses:
        why.append("found no nla_put/nla_get/policy use to check")
    for who, cname, t in uses:
        if cname not in by_cname:
            why.append(f"the {who} uses {cname}, which the spec lacks")
        elif by_cname[cname][1].get("type") != t:
            why.append(f"the {who} uses {cname} as {t}, the spec says "
                       f"{by_cname[cname][1].get('type')}")
    report("attribute_types", "; ".join(sorted(set(why))))

    # The module's op table and groups against the spec.
    why = []
    table = {}
    for m in re.finditer(r"\{([^{}]*?\.cmd\s*=\s*(VANITY_CMD_\w+)[^{}]*)\}",
                         kernel_src):
        table[m.group(2)] = m.group(1)
    for op in oplist:
        cname = oprefix + c_upper(op["name"])
        flags = set(op.get("flags", []))
        if "do" in op or "dump" in op:
            body = table.get(cname)
            if body is None:
                why.append(f"{cname} is a request in the spec, not in the module's ops")
                continue
            for flag, kflag in (("admin-perm", "GENL_ADMIN_PERM"),
                                ("uns-admin-perm", "GENL_UNS_ADMIN_PERM")):
                if (flag in flags) != bool(re.search(kflag + r"\b", body)):
                    why.append(f"{cname}: {flag} in the spec "
                               f"{'but' if flag in flags else 'not'} {kflag} in the module")
            for mode, fn in (("do", "doit"), ("dump", "dumpit")):
                if (mode in op) != ("." + fn in body):
                    why.append(f"{cname}: {mode} and .{fn} disagree")
        elif cname in table:
            why.append(f"{cname} is no request in the spec but an op of the module")
    for cname in table:
        if cname not in {oprefix + c_upper(o["name"]) for o in oplist}:
            why.append(f"the module's op {cname} is not in the spec")
    kgroups = re.findall(r"\.name\s*=\s*(VANITY_GENL_MCGRP_\w+)", kernel_src)
    if sorted(kgroups) != sorted(spec_grp):
        why.append(f"the module's groups {sorted(kgroups)} are not the spec's "
                   f"{sorted(spec_grp)}")
    report("module_ops_and_groups", "; ".join(why))


try:
    spec = yaml.safe_load(read(spec_path))
    report("spec_parses", "" if isinstance(spec, dict) else "not a mapping")
except (OSError, yaml.YAMLError) as e:
    report("spec_parses", str(e).replace("\n", " "))
    sys.exit(1)
check_all(spec, report)


# The checks themselves: each mutation must make at least one fail.
def mutant_caught(name, mutate):
    m = copy.deepcopy(spec)
    try:
        mutate(m)
    except (KeyError, IndexError, StopIteration) as e:
        return report(f"catches_{name}", f"cannot mutate the spec: {e!r}")
    fails = []
    check_all(m, lambda n, why: fails.append(n) if why else None)
    report(f"catches_{name}", "" if fails else "no check failed")


def first_set(m):
    return m["attribute-sets"][0]


def renumber(m):
    first_set(m)["attributes"].insert(2, {"name": "intruder", "type": "u32"})


def retype(m):
    next(a for a in first_set(m)["attributes"]
         if a.get("type") == "string")["type"] = "u32"


def drop_command(m):
    m["operations"]["list"].pop()


mutant_caught("a_renumbered_attribute", renumber)
mutant_caught("a_wrong_type", retype)
mutant_caught("a_missing_command", drop_command)

# The kernel's schema, when there is one to hand.
if schema_path.startswith("none:"):
    print(f"ynl: skip schema: {schema_path[5:]}")
else:
    try:
        import jsonschema
    except ImportError:
        jsonschema = None
        print("ynl: skip schema: no python3 jsonschema (Debian: python3-jsonschema)")
    if jsonschema:
        try:
            schema = yaml.safe_load(read(schema_path))
            errs = sorted(jsonschema.Draft7Validator(schema).iter_errors(spec),
                          key=lambda e: list(e.path))
            report("schema_genetlink_legacy",
                   "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}"
                             for e in errs[:5]))
        except (OSError, yaml.YAMLError, jsonschema.SchemaError) as e:
            report("schema_genetlink_legacy", f"{schema_path}: {e}")

sys.exit(1 if failed else 0)
PYEOF
