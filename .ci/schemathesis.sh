#!/usr/bin/env bash
# Schemathesis against the portal's OpenAPI document: a demo court on a fresh SQLite database in a
# temporary directory, served by the debug `klero` binary on a free loopback port, then a bounded
# property-based run per role (each role's token on every operation), failing on any server error,
# any status code or content type the document does not list, and any answer that does not match
# its schema. It fails (never skips) if schemathesis cannot be installed or the server cannot start.
#
# Environment: SCHEMATHESIS_SECONDS (time budget per role, default 40), KLERO_BIN (default:
# target/debug/klero, built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
SECONDS_PER_ROLE="${SCHEMATHESIS_SECONDS:-40}"
TARGET="$(cd "${CARGO_TARGET_DIR:-target}" 2>/dev/null && pwd || echo "$PWD/target")"
VENV="$TARGET/schemathesis-$ST_VERSION"

if [ ! -x "$VENV/bin/st" ] || ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "installing schemathesis $ST_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
"$VENV/bin/st" --version

KLERO="${KLERO_BIN:-$TARGET/debug/klero}"
if [ ! -x "$KLERO" ]; then
  cargo build --bin klero
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the server picks a free port and prints the address it bound.
"$KLERO" serve --demo --addr 127.0.0.1:0 --database-url "sqlite://$WORK/klero.db" \
  --enrollment-outbox "$WORK/outbox" \
  --secrets-dir "$WORK/secrets" >"$WORK/out.txt" 2>"$WORK/err.txt" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 300); do
  BASE="$(grep -o 'serving [a-z]* on http://127\.0\.0\.1:[0-9]*' "$WORK/err.txt" | sed 's/.* on //' || true)"
  [ -n "$BASE" ] && grep -q 'SYSTEM_ADMIN=' "$WORK/out.txt" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/err.txt" >&2; echo "the server did not start" >&2; exit 1; }
  sleep 1
done
[ -n "$BASE" ] || { cat "$WORK/err.txt" >&2; echo "the server did not start in time" >&2; exit 1; }
curl -sf "$BASE/healthz" >/dev/null || { echo "the server does not answer at $BASE" >&2; exit 1; }
echo "demo server at $BASE"

token() { grep -o "$1=klero_[0-9a-f]*" "$WORK/out.txt" | head -1 | cut -d= -f2; }

status=0
# Schemathesis and hypothesis keep caches in the working directory: keep them in the temp dir.
cd "$WORK"
for role in SYSTEM_ADMIN COURT_ADMIN CLERK JUDGE; do
  echo "== schemathesis as $role (${SECONDS_PER_ROLE}s)"
  "$VENV/bin/st" run "$BASE/api/v1/openapi.json" \
    --url "$BASE" \
    -H "Authorization: Bearer $(token "$role")" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-time "$SECONDS_PER_ROLE" --workers 1 --request-timeout 20 \
    --seed 20261129 --no-color --warnings off \
    || status=1
done

# Every 5xx is also logged by the server as an internal error: none may appear.
if grep -q 'internal error' "$WORK/err.txt"; then
  grep 'internal error' "$WORK/err.txt" | head -20 >&2
  echo "the server logged internal errors during the run" >&2
  status=1
fi
kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server died during the run" >&2; status=1; }
exit $status
