#!/usr/bin/env bash
# One entry point for a fresh machine that has Python, pip and apt:
#   ./dev.sh demo [--port 8000]   set everything up, start the live demo (http://127.0.0.1:8000/)
#   ./dev.sh test [pytest args]   set everything up, run the whole test suite
# It creates .venv (installing python3-venv with apt if needed), installs the project into it,
# and for the tests installs Debian's chromium (browser tests) and starts Mosquitto (MQTT tests)
# and PostgreSQL (storage tests) when they are missing.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}

apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "dev.sh: installing Debian packages: $*" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

ensure_venv() {
    local extra=$1
    if [ ! -x .venv/bin/python ]; then
        if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
            rm -rf .venv
            apt_install python3-venv
            "$PYTHON" -m venv .venv
        fi
        .venv/bin/python -m pip install -q --upgrade pip
    fi
    # Reinstall only when the project definition changed since the last install.
    local stamp=".venv/.dwatch-installed${extra:-[base]}"
    local want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "dev.sh: installing the project into .venv ($extra)" >&2
        .venv/bin/python -m pip install -q -e ".$extra"
        echo "$want" > "$stamp"
    fi
}

ensure_chromium() {
    [ -x /usr/bin/chromium ] || apt_install chromium
}

port_open() {
    .venv/bin/python - "$1" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

ensure_mosquitto() {
    # The MQTT transport tests talk to a real broker on 127.0.0.1:1883.
    port_open 1883 && return 0
    command -v mosquitto >/dev/null || apt_install mosquitto
    echo "dev.sh: starting mosquitto on 127.0.0.1:1883" >&2
    if [ -f /etc/mosquitto/mosquitto.conf ]; then
        mosquitto -d -c /etc/mosquitto/mosquitto.conf
    else
        mosquitto -d -p 1883
    fi
    for _ in $(seq 50); do port_open 1883 && return 0; sleep 0.1; done
    echo "dev.sh: mosquitto did not start" >&2
    return 1
}

pg_ready() {
    .venv/bin/python - <<'PY'
import sys
import pg8000.native
try:
    pg8000.native.Connection("postgres", host="127.0.0.1", port=5432, database="test", timeout=3).close()
except Exception:
    sys.exit(1)
PY
}

ensure_postgres() {
    # The storage tests use a real PostgreSQL on 127.0.0.1:5432: user postgres without a password
    # (trust, for this test machine only), database "test" (each test makes and drops its own).
    pg_ready && return 0
    local sudo="" as_postgres="runuser -u postgres --"
    [ "$(id -u)" -eq 0 ] || { sudo="sudo"; as_postgres="sudo -u postgres"; }
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    if ! port_open 5432; then
        echo "dev.sh: starting PostgreSQL $version on 127.0.0.1:5432" >&2
        $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main start
        for _ in $(seq 100); do port_open 5432 && break; sleep 0.1; done
    fi
    pg_ready && return 0
    echo "dev.sh: PostgreSQL test setup: trust for 127.0.0.1, database test" >&2
    local hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! $sudo grep -q "^host all postgres 127.0.0.1/32 trust" "$hba"; then
        $sudo sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
        $sudo pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    $as_postgres createdb test 2>/dev/null || true
    pg_ready || { echo "dev.sh: PostgreSQL on 127.0.0.1:5432 is not usable as user postgres" >&2; return 1; }
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)
        ensure_venv ""
        exec .venv/bin/dwatch demo "$@"
        ;;
    test)
        ensure_venv "[test]"
        ensure_chromium
        ensure_mosquitto
        ensure_postgres
        exec .venv/bin/python -m pytest "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo [--port N] | ./dev.sh test [pytest args]" >&2
        exit 2
        ;;
esac
