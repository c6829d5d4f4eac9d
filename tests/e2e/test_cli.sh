#!/usr/bin/env bash
# The command line explains itself: --help, --version, every command's help
# (three ways, same text), clear usage errors, check-config on the example.
set -euo pipefail
: "${KLASGW:?path of the klasgw binary}" "${GW_SOURCE_DIR:?source dir}"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

"$KLASGW" --help >"$out/help" || fail "--help exits non-zero"
grep -q "^Usage: klasgw" "$out/help" || fail "--help has no usage line"
"$KLASGW" --version | grep -Eq '^klasgw [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"

commands="serve validate migrate purge outbox audit sim check-config"
for c in $commands; do
    grep -q "^  $c " "$out/help" || fail "--help does not list $c"
    "$KLASGW" help "$c" >"$out/a" || fail "help $c exits non-zero"
    "$KLASGW" "$c" --help >"$out/b" || fail "$c --help exits non-zero"
    cmp -s "$out/a" "$out/b" || fail "help $c and $c --help differ"
    grep -q "^Usage: klasgw" "$out/a" || fail "$c help has no usage line"
    [ "$(wc -l <"$out/a")" -ge 4 ] || fail "$c help is too thin"
done

# Every option a command's usage names has its line in the help: the help
# prints the table the command parses (sim spells its own in its text).
for c in validate migrate purge outbox store audit check-config; do
    "$KLASGW" help "$c" >"$out/a" || fail "help $c exits non-zero"
    for o in $(sed -n '/^Usage:/,/^$/p' "$out/a" | grep -o -- '--[a-z-]*' | sort -u); do
        grep -Eq -- "^  (-[a-zA-Z], )?$o( |\$)" "$out/a" \
            || fail "$c help has no line for $o"
    done
done
"$KLASGW" help check-config | grep -q -- "^  -k, --keys " \
    || fail "check-config help does not say -k"
"$KLASGW" check-config -k >"$out/keys" || fail "check-config -k exits non-zero"

set +e
"$KLASGW" frobnicate 2>"$out/err"; rc=$?
set -e
[ $rc -eq 2 ] || fail "unknown command exits $rc, not 2"
grep -q "unknown command 'frobnicate'" "$out/err" || fail "unknown command message"

set +e
"$KLASGW" >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "no command exits $rc, not 2"

"$KLASGW" -c "$GW_SOURCE_DIR/adapter/klasgw.conf.example" check-config >"$out/cc" \
    || fail "check-config refuses the example configuration"
grep -q "configuration ok" "$out/cc" || fail "check-config does not say ok"
# Into a file, not a pipe: grep -q stops reading at the first match, and
# with pipefail the writer's SIGPIPE would fail the line.
"$KLASGW" check-config --keys >"$out/keys" || fail "check-config --keys exits non-zero"
grep -q "store.path" "$out/keys" || fail "check-config --keys"

printf '[server]\nport = nope\n' >"$out/bad.conf"
set +e
"$KLASGW" -c "$out/bad.conf" check-config >/dev/null 2>"$out/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "bad config exits $rc, not 1"
grep -q "server.port" "$out/err" || fail "bad config error does not name the key"

KLASGW_SERVER_PORT=9191 "$KLASGW" -c "$GW_SOURCE_DIR/adapter/klasgw.conf.example" \
    check-config | grep -q "^port = 9191$" || fail "environment override"
echo "cli: ok"
