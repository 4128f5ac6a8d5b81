#!/usr/bin/env bash
# Runs CMD with a throwaway PostgreSQL server, so the server test suite covers both database backends.
#
#   scripts/with-postgres.sh cargo test --locked --workspace
#
# Installs the `postgresql` package with apt-get if no PostgreSQL binaries are found, initialises a cluster in a
# temporary directory (trust authentication, reachable only on 127.0.0.1 and a unix socket in that directory), and
# exports ALLOWLY_TEST_PG_URL (an admin URL; each test creates its own database), ALLOWLY_TEST_REQUIRE_PG=1 (a
# test that cannot reach PostgreSQL fails instead of skipping) and ALLOWLY_TEST_PG_PID (the postmaster's pid). The
# server is stopped and the directory removed on every exit path; the script exits with CMD's status.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "with-postgres: need root (or sudo) to install postgresql" >&2
        return 1
    fi
}

if ! BIN=$(find_bindir); then
    echo "with-postgres: installing postgresql with apt-get" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    BIN=$(find_bindir) || { echo "with-postgres: postgresql installed but initdb not found" >&2; exit 1; }
fi

# PostgreSQL refuses to run as root: then the cluster belongs to the `postgres` OS user the package creates.
RUN=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "with-postgres: running as root but no 'postgres' user exists" >&2; exit 1; }
    RUN=(runuser -u postgres --)
fi

# As root the cluster's owner must be able to reach the directory, so it goes under /tmp rather than $TMPDIR.
if [ "${#RUN[@]}" -gt 0 ]; then TMP_BASE=/tmp; else TMP_BASE=${TMPDIR:-/tmp}; fi
DIR=$(mktemp -d "$TMP_BASE/allowly-pg.XXXXXX")
PGDATA="$DIR/data"
cleanup() {
    if [ -f "$PGDATA/postmaster.pid" ]; then
        "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "${#RUN[@]}" -gt 0 ]; then
    chown postgres: "$DIR"
fi

"${RUN[@]}" "$BIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    exit 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A throwaway cluster: durability settings off for speed, enough connections for parallel test servers. With
# ALLOWLY_PG_DURABLE=1 (bench/server/scaleout.py, make test-crash-restart) it keeps PostgreSQL's durable defaults
# (fsync, synchronous_commit, full_page_writes) and loads pg_stat_statements, so a benchmark measures the commits a
# deployment pays for and a crash test runs against them.
PG_OPTS="-c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${ALLOWLY_PG_DURABLE:-}" = 1 ]; then
    PG_OPTS="-c max_connections=400 -c shared_preload_libraries=pg_stat_statements -c track_wal_io_timing=on"
fi
PORT=""
for _ in $(seq 1 20); do
    candidate=$((20000 + RANDOM % 30000))
    port_in_use "$candidate" && continue
    if "${RUN[@]}" "$BIN/pg_ctl" -D "$PGDATA" -l "$DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $candidate -k $DIR $PG_OPTS" \
        start >/dev/null; then
        PORT=$candidate
        break
    fi
done
if [ -z "$PORT" ]; then
    echo "with-postgres: could not start PostgreSQL" >&2
    cat "$DIR/server.log" >&2 || true
    exit 1
fi

for _ in $(seq 1 100); do
    if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres; then
        break
    fi
    sleep 0.1
done
"$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres || {
    echo "with-postgres: PostgreSQL did not become ready" >&2
    cat "$DIR/server.log" >&2 || true
    exit 1
}

export ALLOWLY_TEST_PG_URL="postgres://postgres@127.0.0.1:$PORT/postgres"
export ALLOWLY_TEST_REQUIRE_PG=1
# The postmaster's pid: a benchmark sums the CPU time of it and its children (the backends).
ALLOWLY_TEST_PG_PID=$(head -n 1 "$PGDATA/postmaster.pid")
export ALLOWLY_TEST_PG_PID
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT" >&2

set +e
"$@"
rc=$?
set -e
exit "$rc"
