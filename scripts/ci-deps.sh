#!/usr/bin/env bash
# Make a fresh Debian/Ubuntu machine able to run `make test`: python3 with venv, make,
# Node.js + npm (scripts/node-tools.sh adds Node 22 from npm), and the services the
# suite requires when CI=true: PostgreSQL on 127.0.0.1:5432 (trust auth, database
# `test`) and Redis on 127.0.0.1:6379.
#
# Idempotent: anything already present (a command on PATH, a service answering on its
# port) is left alone. Without apt-get it only reports what is missing.
set -euo pipefail

say() { printf 'ci-deps: %s\n' "$*"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

sudo=""
if [[ "$(id -u)" != 0 ]]; then
    sudo="sudo"
fi
as_postgres() {
    if [[ -z "$sudo" ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

packages=()
command -v make >/dev/null || packages+=(make)
probe="$(mktemp -d)"
python3 -m venv "$probe/venv" >/dev/null 2>&1 || packages+=(python3 python3-venv)
rm -rf "$probe"
command -v npm >/dev/null || packages+=(nodejs npm)
listening 5432 || packages+=(postgresql)
listening 6379 || packages+=(redis-server)

if ((${#packages[@]})); then
    if ! command -v apt-get >/dev/null; then
        say "missing: ${packages[*]} (no apt-get here; install them yourself)" >&2
        exit 1
    fi
    say "installing ${packages[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
fi

if ! listening 6379; then
    say "starting redis-server on 127.0.0.1:6379"
    $sudo redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no
fi

if ! listening 5432; then
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    if ! $sudo grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
        say "allowing trust auth from 127.0.0.1 in $hba (CI only)"
        $sudo sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    say "starting PostgreSQL $version"
    $sudo pg_ctlcluster "$version" main start
    for _ in $(seq 50); do
        listening 5432 && break
        sleep 0.2
    done
    if ! as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1; then
        as_postgres createdb test
    fi
fi

listening 5432 && listening 6379 && say "PostgreSQL and Redis are up"
