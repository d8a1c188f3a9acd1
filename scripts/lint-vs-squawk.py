#!/usr/bin/env python3
"""pgstrata's lints beside squawk's on Lemmy's migrations (tests/corpus/lemmy).

Runs both on every up.sql, prints how many findings each gives (all of squawk's, and
those of its safety rules: locks, rewrites, lost data), lists every risky statement
squawk flags that pgstrata does not, grouped by squawk rule, and writes two samples of
30 findings each (every n-th, in file order) with their statements to
target/lint-compare/, for checking by hand. The verdicts are in docs/lint-vs-squawk.md.

    python3 scripts/lint-vs-squawk.py

Needs cargo, and npm (squawk-cli is installed under target/lint-compare/ when it is
not on PATH). Only the npm registry is reached.
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEMMY = os.path.join(ROOT, "tests", "corpus", "lemmy", "migrations")
OUT = os.path.join(ROOT, "target", "lint-compare")
SQUAWK_VERSION = "2.66.0"

# squawk's rules about what hurts a running production database, and the pgstrata rules
# that cover the same statement. The others are style (prefer-bigint-over-int,
# prefer-identity, prefer-text-field, prefer-timestamp-tz, prefer-robust-stmts,
# require-enum-value-ordering, identifier-too-long).
SAFETY = {
    "require-lock-timeout": {"lock-timeout-missing"},
    "require-statement-timeout": set(),
    "require-concurrent-index-creation": {"index-not-concurrent"},
    "require-concurrent-index-deletion": {"index-not-concurrent"},
    "changing-column-type": {"column-type-rewrite"},
    "ban-drop-column": {"drop-column"},
    "ban-drop-table": {"drop-table"},
    # A unique or primary key constraint cannot be NOT VALID: pgstrata reports the index
    # build instead.
    "constraint-missing-not-valid": {"constraint-not-valid", "index-not-concurrent"},
    "adding-foreign-key-constraint": {"constraint-not-valid"},
    "adding-serial-primary-key-field": {"volatile-default", "index-not-concurrent"},
    "adding-not-nullable-field": {"not-null-without-default", "set-not-null"},
    "adding-required-field": {"not-null-without-default"},
    "adding-field-with-default": {"volatile-default"},
    "disallowed-unique-constraint": {"index-not-concurrent"},
    "renaming-column": {"rename-column"},
    "renaming-table": {"rename-table"},
    "ban-drop-not-null": set(),
    "ban-truncate-cascade": set(),
    "ban-drop-database": set(),
}
# Rules whose pgstrata counterpart is reported once per migration, at its first
# statement: any finding of it in the file covers the file.
PER_FILE = {"lock-timeout-missing"}


def squawk_binary():
    found = shutil.which("squawk")
    if found:
        return found
    local = os.path.join(OUT, "node_modules", ".bin", "squawk")
    if not os.path.exists(local):
        os.makedirs(OUT, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", OUT, f"squawk-cli@{SQUAWK_VERSION}"],
            check=True,
        )
    return local


def files():
    out = []
    for d in sorted(os.listdir(LEMMY)):
        up = os.path.join(LEMMY, d, "up.sql")
        if os.path.isfile(up):
            out.append(up)
    return out


def run_squawk(paths):
    # diesel runs each file in a transaction, as pgstrata does.
    r = subprocess.run(
        [squawk_binary(), "--reporter", "json", "--assume-in-transaction", *paths],
        capture_output=True,
        text=True,
    )
    findings = json.loads(r.stdout or "[]")
    for f in findings:
        f["file"] = os.path.relpath(f["file"], LEMMY)
        # squawk counts lines from 0.
        f["first"], f["last"] = f["line"] + 1, f["line_end"] + 1
    return findings


def run_pgstrata():
    subprocess.run(["cargo", "build", "-q", "-p", "pgstrata-cli"], cwd=ROOT, check=True)
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "pgstrata")
    r = subprocess.run(
        [binary, "lint", "--format", "json", LEMMY], capture_output=True, text=True
    )
    if r.returncode not in (0, 1):
        sys.exit(f"pgstrata lint failed: {r.stderr}")
    findings = json.loads(r.stdout)
    for f in findings:
        f["file"] = os.path.relpath(f["file"], LEMMY)
        f["first"], f["last"] = f["line"], max(f["end_line"], f["line"])
    return findings


def covered(s, pg_by_file):
    want = SAFETY[s["rule_name"]]
    for p in pg_by_file.get(s["file"], []):
        if p["rule"] not in want:
            continue
        if p["rule"] in PER_FILE or p["first"] <= s["first"] <= p["last"] or s["first"] <= p["first"] <= s["last"]:
            return True
    return False


NAME = r'(?:ONLY\s+)?(?:IF\s+EXISTS\s+)?"?([A-Za-z_][\w$]*)"?'
TARGET = [
    re.compile(r"ALTER\s+TABLE\s+" + NAME, re.I),
    re.compile(r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?\S*\s*ON\s+" + NAME, re.I),
    re.compile(r"DROP\s+TABLE\s+" + NAME, re.I),
]


def reason(s):
    """Why pgstrata says nothing about a statement squawk flags, or None."""
    rule = s["rule_name"]
    if rule == "require-statement-timeout":
        return "pgstrata asks for lock_timeout, not statement_timeout (a timeout would cancel long data backfills; the lock wait is what stalls production)"
    if rule == "ban-drop-not-null":
        return "DROP NOT NULL takes a short lock and loses nothing; a NULL written later reaches older binaries only through code the new release adds"
    with open(os.path.join(LEMMY, s["file"]), encoding="utf-8") as fh:
        text = fh.read()
    lines = text.split("\n")
    before = "\n".join(lines[: s["first"] - 1])
    # The statement: from its first line to its end (squawk's range may be a part).
    start = s["first"] - 1
    while start > 0 and not lines[start - 1].rstrip().endswith(";") and lines[start - 1].strip():
        start -= 1
    statement = "\n".join(lines[start : s["last"]])
    before = "\n".join(lines[:start])
    table = None
    for pattern in TARGET:
        m = pattern.search(statement)
        if m:
            table = m.group(1)
            break
    if table:
        created = re.search(
            r"CREATE\s+(?:(TEMP|TEMPORARY|UNLOGGED)\s+)?(?:TABLE|MATERIALIZED\s+VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?" + re.escape(table) + r'\b"?',
            before,
            re.I,
        ) or re.search(r"RENAME\s+TO\s+\"?" + re.escape(table) + r'\b"?', before, re.I)
        if created and created.lastindex and created.group(1) and created.group(1).upper().startswith("TEMP"):
            return "a temporary table"
        if created:
            return "the table is created earlier in the same migration"
    if rule == "changing-column-type" and re.search(
        r"TYPE\s+((varchar|character\s+varying)\s*\(\d+\)|text)\s*;", statement, re.I
    ):
        return "widening a varchar (to a longer one, or to text) needs no rewrite; the short lock is lock-timeout-missing's"
    if rule == "ban-drop-table" and table:
        after = "\n".join(lines[s["last"] :])
        if re.search(r"CREATE\s+TABLE\s+\"?" + re.escape(table) + r'\b"?\s+AS\b', after, re.I):
            return "the same migration builds the table again from a query: a derived table dropped and rebuilt loses nothing"
    if (
        rule == "changing-column-type"
        and re.search(r"TYPE\s+timestamp(tz|\s+with\s+time\s+zone)?\b", statement, re.I)
        and re.search(r"SET\s+(timezone|time\s+zone)\s*(=|TO)?\s*'?utc'?", before, re.I)
    ):
        return "the migration sets the time zone to UTC, where timestamp and timestamptz are binary compatible (PostgreSQL 12+ rewrites nothing)"
    if rule == "require-lock-timeout":
        # squawk reports this once per file, at the first statement it deems slow.
        head = re.sub(r"^(\s*--[^\n]*\n)+", "", statement).lstrip().upper()
        if re.match(r"DROP\s+FUNCTION\b.*\bCASCADE", head, re.S):
            return "known gap: DROP FUNCTION ... CASCADE may drop triggers of existing tables; pgstrata does not follow CASCADE"
        if re.match(r"(CREATE\s+(OR\s+REPLACE\s+)?FUNCTION|CREATE\s+EXTENSION|CREATE\s+SCHEMA|ALTER\s+TYPE|CREATE\s+(OR\s+REPLACE\s+)?VIEW|CREATE\s+TYPE)", head):
            return "the statement squawk points at takes no lock on an existing table, and pgstrata finds no such lock in the migration"
        return "pgstrata finds no statement in the migration that takes a write-blocking lock on a table or view that existed before it"
    return None


def source_lines(rel, first, last, context=1):
    with open(os.path.join(LEMMY, rel), encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    lo, hi = max(first - 1 - context, 0), min(last + context, len(lines))
    return "\n".join(f"  {i + 1:4} | {lines[i]}" for i in range(lo, hi))


def sample(findings, n=30):
    ordered = sorted(findings, key=lambda f: (f["file"], f["first"]))
    step = max(len(ordered) // n, 1)
    return ordered[::step][:n]


def main():
    paths = files()
    squawk = run_squawk(paths)
    pg = run_pgstrata()
    safety = [f for f in squawk if f["rule_name"] in SAFETY]
    pg_by_file = collections.defaultdict(list)
    for p in pg:
        pg_by_file[p["file"]].append(p)

    print(f"Lemmy: {len(paths)} up migrations")
    print(f"squawk {SQUAWK_VERSION}: {len(squawk)} findings, {len(safety)} from its safety rules")
    for rule, n in collections.Counter(f["rule_name"] for f in squawk).most_common():
        print(f"  {n:5}  {rule}{'' if rule in SAFETY else '  (style)'}")
    print(f"pgstrata: {len(pg)} findings")
    for rule, n in collections.Counter(f["rule"] for f in pg).most_common():
        print(f"  {n:5}  {rule}")

    missed = [s for s in safety if not covered(s, pg_by_file)]
    print(f"\nsquawk safety findings pgstrata does not report on the same statement: {len(missed)}")
    by_reason = collections.defaultdict(list)
    for s in missed:
        by_reason[reason(s) or "UNEXPLAINED"].append(s)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "missed.txt"), "w", encoding="utf-8") as fh:
        for why, items in sorted(by_reason.items(), key=lambda x: -len(x[1])):
            rules = collections.Counter(s["rule_name"] for s in items)
            print(f"  {len(items):5}  {why}: " + ", ".join(f"{r} {n}" for r, n in rules.most_common()))
            for s in items:
                fh.write(f"[{why}] {s['rule_name']}  {s['file']}:{s['first']}  {s['message']}\n")
                fh.write(source_lines(s["file"], s["first"], s["last"], 0) + "\n\n")

    for name, items, rule_key in (("pgstrata", pg, "rule"), ("squawk", safety, "rule_name")):
        chosen = sample(items)
        with open(os.path.join(OUT, f"sample-{name}.txt"), "w", encoding="utf-8") as fh:
            for i, f in enumerate(chosen, 1):
                message = f.get("why") or f.get("message")
                fh.write(f"#{i} {f[rule_key]}  {f['file']}:{f['first']}\n  {message}\n")
                fh.write(source_lines(f["file"], f["first"], f["last"]) + "\n\n")
    print(f"\nsamples and the list of missed statements: {OUT}/")


if __name__ == "__main__":
    main()
