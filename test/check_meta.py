#!/usr/bin/python3
"""check_meta.py — META.json against the PGXN Meta Spec 1.0.0 (https://pgxn.org/spec/).

No validator is packaged for Debian (PGXN::Meta::Validator is not), so the spec's rules are here:
required keys and their forms, semantic versions, version ranges in prereqs, the license
names, release_status, tags, no_index, files that exist, custom keys only as X_ / x_; and the
project's own: the version is raft_ext.control's default_version (1.2 -> 1.2.0).

  check_meta.py [META.json]   prints the problems; exit 1 if any
  check_meta.py --self-test   feeds it broken variants that must be refused
Last line: "meta: N passed, N failed" (scripts/run-tests.sh counts it).
"""
import copy
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[a-zA-Z][0-9a-zA-Z-]*)?$")
RANGE_PART = re.compile(r"^(==|!=|>=|<=|>|<)?\s*(\S+)$")
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
            "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
            "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
            "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"}
TOP = {"name", "abstract", "description", "version", "maintainer", "license", "provides",
       "prereqs", "release_status", "resources", "generated_by", "tags", "no_index", "meta-spec"}
PHASES = {"configure", "build", "test", "runtime", "develop"}
RELATIONS = {"requires", "recommends", "suggests", "conflicts"}


def custom(key):
    return key.startswith(("X_", "x_"))


def check(meta, root=ROOT):
    p = []
    for k in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
        if k not in meta:
            p.append(f"missing required key {k}")
    for k in meta:
        if k not in TOP and not custom(k):
            p.append(f"unknown key {k} (custom keys start with X_)")
    name = meta.get("name")
    if name is not None and (not isinstance(name, str) or len(name) < 2 or re.search(r"[\s/\\\x00-\x1f]", name)):
        p.append("name: a string of 2 or more characters without whitespace, slashes or controls")
    for k in ("abstract", "description", "generated_by"):
        if k in meta and (not isinstance(meta[k], str) or not meta[k].strip()):
            p.append(f"{k}: a non-empty string")
    if "version" in meta and not (isinstance(meta["version"], str) and SEMVER.match(meta["version"])):
        p.append(f"version: not a semantic version: {meta.get('version')!r}")
    m = meta.get("maintainer")
    if m is not None and not (isinstance(m, str) and m.strip()) and not (
            isinstance(m, list) and m and all(isinstance(x, str) and x.strip() for x in m)):
        p.append("maintainer: a string or a list of strings")
    lic = meta.get("license")
    if lic is not None:
        names = [lic] if isinstance(lic, str) else lic if isinstance(lic, list) else None
        if isinstance(lic, dict):
            if not lic or not all(isinstance(v, str) and v.startswith(("http://", "https://")) for v in lic.values()):
                p.append("license: an object maps license names to URLs")
        elif names is None or not names or any(n not in LICENSES for n in names):
            p.append(f"license: unknown license {lic!r}")
    prov = meta.get("provides")
    if prov is not None:
        if not isinstance(prov, dict) or not prov:
            p.append("provides: an object with one entry per extension")
        else:
            for ext, d in prov.items():
                if not isinstance(d, dict):
                    p.append(f"provides.{ext}: an object")
                    continue
                for k in ("file", "version"):
                    if k not in d:
                        p.append(f"provides.{ext}: missing {k}")
                if "version" in d and not (isinstance(d["version"], str) and SEMVER.match(d["version"])):
                    p.append(f"provides.{ext}.version: not a semantic version")
                for k in ("file", "docfile"):
                    if k in d and not os.path.isfile(os.path.join(root, d[k])):
                        p.append(f"provides.{ext}.{k}: {d[k]} does not exist")
                for k in d:
                    if k not in ("file", "version", "abstract", "docfile") and not custom(k):
                        p.append(f"provides.{ext}: unknown key {k}")
    for phase, rels in (meta.get("prereqs") or {}).items():
        if phase not in PHASES:
            p.append(f"prereqs: unknown phase {phase}")
            continue
        for rel, reqs in rels.items():
            if rel not in RELATIONS:
                p.append(f"prereqs.{phase}: unknown relation {rel}")
                continue
            for what, rng in reqs.items():
                if rng in (0, "0"):
                    continue
                parts = [x.strip() for x in str(rng).split(",")]
                if not all((mm := RANGE_PART.match(x)) and SEMVER.match(mm.group(2)) for x in parts):
                    p.append(f"prereqs.{phase}.{rel}.{what}: not a version range: {rng!r}")
    if "release_status" in meta and meta["release_status"] not in ("stable", "testing", "unstable"):
        p.append("release_status: stable, testing or unstable")
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) and 0 < len(t) <= 255 for t in tags)):
        p.append("tags: a list of strings of at most 255 characters")
    ni = meta.get("no_index")
    if ni is not None:
        for k, v in ni.items():
            if k not in ("file", "directory") or not isinstance(v, (list, str)):
                p.append(f"no_index.{k}: file or directory, a string or a list")
    ms = meta.get("meta-spec")
    if ms is not None and (not isinstance(ms, dict) or ms.get("version") != "1.0.0"):
        p.append("meta-spec: version 1.0.0")
    # the project's own rule: one version
    control = open(os.path.join(root, "raft_ext.control")).read()
    dv = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M).group(1)
    want = dv if dv.count(".") == 2 else dv + ".0"
    for where, v in [("version", meta.get("version"))] + [
            (f"provides.{e}.version", d.get("version")) for e, d in (prov or {}).items() if isinstance(d, dict)]:
        if v is not None and v != want:
            p.append(f"{where}: {v} but raft_ext.control's default_version is {dv} (want {want})")
    return p


def self_test(meta):
    cases = {
        "missing license": lambda m: m.pop("license"),
        "bad version": lambda m: m.__setitem__("version", "1.2"),
        "version differs from the control file": lambda m: m.__setitem__("version", "9.9.9"),
        "unknown license": lambda m: m.__setitem__("license", "wtfpl"),
        "provides file missing": lambda m: next(iter(m["provides"].values())).__setitem__("file", "nope.sql"),
        "bad prereq range": lambda m: m["prereqs"]["runtime"]["requires"].__setitem__("PostgreSQL", "fifteen"),
        "bad release_status": lambda m: m.__setitem__("release_status", "beta"),
        "unknown key": lambda m: m.__setitem__("homepage", "x"),
        "meta-spec version": lambda m: m["meta-spec"].__setitem__("version", "2.0.0"),
    }
    passed = failed = 0
    if check(meta):
        print("self-test: the real META.json must pass first")
        return 0, 1
    for what, breakit in cases.items():
        m = copy.deepcopy(meta)
        breakit(m)
        if check(m):
            passed += 1
        else:
            failed += 1
            print(f"self-test: not refused: {what}")
    return passed, failed


def main(argv):
    path = os.path.join(ROOT, "META.json")
    args = [a for a in argv if a != "--self-test"]
    if args:
        path = args[0]
    with open(path) as f:
        meta = json.load(f)
    problems = check(meta, os.path.dirname(os.path.abspath(path)))
    for pr in problems:
        print(f"{path}: {pr}")
    passed, failed = (0 if problems else 1), (1 if problems else 0)
    if "--self-test" in argv:
        sp, sf = self_test(meta)
        passed, failed = passed + sp, failed + sf
    print(f"meta: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
