#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the test suite, on 127.0.0.1 only.
#
#   scripts/ci-postgres.sh [start]   start it (or find it running); print its URL on stdout
#   scripts/ci-postgres.sh url       print the URL of the running server
#   scripts/ci-postgres.sh stop      stop it and delete its data
#
#   URL=$(scripts/ci-postgres.sh)    # postgresql+psycopg://USER:PASS@127.0.0.1:PORT/scopeguard_test
#
# Everything lives in $SCOPEGUARD_PG_DIR (default: /tmp/scopeguard-ci-postgres):
# the cluster, its socket, its log and the URL. Durability is switched off (fsync,
# synchronous_commit): the data is thrown away. Port: $SCOPEGUARD_PG_PORT (default
# 55432), or the next free one above it. Run as root, the server runs as the
# `postgres` OS user (initdb refuses root). Progress goes to stderr.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
STATE_DIR=${SCOPEGUARD_PG_DIR:-${TMPDIR:-/tmp}/scopeguard-ci-postgres}
FIRST_PORT=${SCOPEGUARD_PG_PORT:-55432}
DB_NAME=scopeguard_test
DB_USER=scopeguard_test

DATA_DIR=$STATE_DIR/data
SOCKET_DIR=$STATE_DIR/socket
LOG_FILE=$STATE_DIR/postgres.log
URL_FILE=$STATE_DIR/url
PORT_FILE=$STATE_DIR/port

say() { echo "ci-postgres: $*" >&2; }
die() { say "$*"; exit 1; }

# Run a PostgreSQL program as the cluster's owner: `postgres` when we are root.
if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER=postgres
    id "$PG_OS_USER" >/dev/null 2>&1 \
        || die "no OS user '$PG_OS_USER' (install PostgreSQL: scripts/install-system-deps.sh)"
    as_pg() { (cd / && runuser -u "$PG_OS_USER" -- "$@"); }
else
    PG_OS_USER=$(id -un)
    as_pg() { (cd / && "$@"); }
fi

running() {
    [ -f "$DATA_DIR/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

port_in_use() {
    # Something accepts connections on it, or another server's socket lock is there.
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    [ -e "/tmp/.s.PGSQL.$1.lock" ] || [ -e "/var/run/postgresql/.s.PGSQL.$1.lock" ]
}

cmd_url() {
    if ! { running && ready; }; then
        die "not running (start it: $0 start)"
    fi
    cat "$URL_FILE"
}

ready() {
    [ -s "$PORT_FILE" ] && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$(cat "$PORT_FILE")" -d postgres
}

# Stop this directory's server (if any) and delete the directory.
shutdown() {
    local mode=$1
    if running; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m "$mode" -w -t 30 stop >/dev/null 2>&1; then
            # It will not stop (or died and left its pid file): end the postmaster
            # recorded in this directory's pid file, and only that one.
            local pid
            pid=$(head -n 1 "$DATA_DIR/postmaster.pid" 2>/dev/null || true)
            if [ -n "$pid" ]; then
                say "pg_ctl could not stop it: killing postmaster $pid"
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf "$STATE_DIR"
}

cmd_stop() {
    if running; then
        say "stopping the server in $DATA_DIR"
    fi
    shutdown fast
    say "stopped"
}

cmd_start() {
    [ -x "$PG_BIN/initdb" ] || die "no $PG_BIN/initdb (install PostgreSQL 15: scripts/install-system-deps.sh)"
    if running && [ -s "$URL_FILE" ] && ready; then
        say "already running (port $(cat "$PORT_FILE"))"
        cat "$URL_FILE"
        return 0
    fi
    # Left over from a run that was killed: start afresh.
    if [ -e "$STATE_DIR" ]; then
        say "removing a stale server directory $STATE_DIR"
        shutdown immediate
    fi

    mkdir -p "$SOCKET_DIR"
    chmod 700 "$STATE_DIR"
    local password
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    local pwfile=$STATE_DIR/superuser-password
    printf '%s\n' "$password" > "$pwfile"
    [ "$PG_OS_USER" = "$(id -un)" ] || chown -R "$PG_OS_USER": "$STATE_DIR"

    say "initdb in $DATA_DIR"
    as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C --no-sync >"$STATE_DIR/initdb.log" 2>&1 \
        || { cat "$STATE_DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"

    local port=$FIRST_PORT started=
    for _ in $(seq 1 50); do
        if port_in_use "$port"; then
            port=$((port + 1))
            continue
        fi
        say "starting on 127.0.0.1:$port"
        if as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $SOCKET_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null; then
            started=1
            break
        fi
        # Lost a race for the port (or another failure): the log says which.
        grep -q "could not bind\|Address already in use" "$LOG_FILE" 2>/dev/null \
            || { tail -n 20 "$LOG_FILE" >&2 || true; die "the server did not start"; }
        port=$((port + 1))
    done
    [ -n "$started" ] || die "found no free port from $FIRST_PORT"

    for _ in $(seq 1 60); do
        if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
            break
        fi
        sleep 0.5
    done
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres \
        || { tail -n 20 "$LOG_FILE" >&2 || true; die "not ready on port $port"; }

    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$password'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >/dev/null

    local url="postgresql+psycopg://$DB_USER:$password@127.0.0.1:$port/$DB_NAME"
    printf '%s\n' "$port" > "$PORT_FILE"
    printf '%s\n' "$url" > "$URL_FILE"
    chmod 600 "$URL_FILE"
    say "ready: database $DB_NAME, role $DB_USER, port $port (log: $LOG_FILE)"
    echo "$url"
}

case "${1:-start}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    -h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (start | url | stop)" ;;
esac
