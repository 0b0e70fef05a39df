# man.sh VNFSAFE PAGE: the man page renders without a groff warning, has the
# sections of a man page and a NAME line lexgrog (mandb) can index, and
# names every command the top-level --help lists. scripts/pkg-check.sh runs
# it on the page of the .deb too. Skips (77) only when man or groff is absent.
set -u
VS=$1 page=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
for t in man lexgrog groff; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed (man-db, groff-base)"; exit 77; }
done
[ -f "$page" ] || fail "no man page at $page"
T=$(mktemp -d "${TMPDIR:-/tmp}/vs-man.XXXXXX")
trap 'rm -rf "$T"' EXIT
case $page in *.gz) zcat "$page" >"$T/page" ;; *) cat "$page" >"$T/page" ;; esac

LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings=w -E UTF-8 -l "$T/page" >"$T/text" 2>"$T/warn" ||
  fail "man -l failed: $(cat "$T/warn")"
[ ! -s "$T/warn" ] || fail "groff warnings: $(cat "$T/warn")"
grep -q '@PROJECT_VERSION@' "$T/text" && fail "the version was not filled in"
lexgrog "$T/page" >"$T/lex" || fail "lexgrog cannot parse the NAME section: $(cat "$T/lex")"
grep -q 'vnfsafe - safe snapshots' "$T/lex" || fail "lexgrog: $(cat "$T/lex")"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES "EXIT STATUS" "SEE ALSO"; do
  grep -q "^$s\$" "$T/text" || fail "no $s section"
done
ver=$("$VS" --version) || fail "$VS --version failed"
grep -q "^${ver} " "$T/text" || fail "footer does not say '$ver'"

# Every command of 'vnfsafe --help' ("  vnf start|stop  ...") has an entry in
# COMMANDS that starts with its group and names the verb.
sed -n '/^COMMANDS$/,/^OPTIONS$/p' "$T/text" >"$T/cmds"
"$VS" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z|]*\)\( [a-z|]*\)\{0,1\} .*/\1\2/p' >"$T/list"
[ -s "$T/list" ] || fail "could not read the command list of --help"
n=0
while read -r first rest; do
  if [ -n "$rest" ]; then group=$first verbs=$rest; else group= verbs=$first; fi
  for v in ${verbs//|/ }; do
    if [ -n "$group" ]; then re="^ *$group( .*)? $v\\b"; else re="^ *$v\\b"; fi
    grep -Eq "$re" "$T/cmds" || fail "COMMANDS has no entry for '${group:+$group }$v'"
    n=$((n + 1))
  done
done <"$T/list"
echo "ok: $page renders cleanly, lexgrog indexes it, all $n commands of --help have an entry"
