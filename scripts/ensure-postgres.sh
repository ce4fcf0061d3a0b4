#!/usr/bin/env bash
# Make sure a PostgreSQL server answers for the store tests (INBOXLINK_TEST_POSTGRES_URL,
# default 127.0.0.1:5432). Starts the local cluster when it is installed but down; installs
# Debian's postgresql when absent and running as root; otherwise says what to run.
set -euo pipefail
url="${INBOXLINK_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
host=$(sed -E 's#^[a-z+]+://([^@/]*@)?([^:/]+).*#\2#' <<<"$url")
port=$(sed -nE 's#^[a-z+]+://([^@/]*@)?[^:/]+:([0-9]+).*#\2#p' <<<"$url"); port=${port:-5432}

answers() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$host" -p "$port"
  else  # no client tools yet: is anything listening at all?
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
  fi
}

answers && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL does not answer on $host:$port. Start it, e.g.: sudo pg_ctlcluster <version> main start" >&2
  exit 1
fi
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
conf=/etc/postgresql/$version/main
# The tests connect as postgres over TCP without a password, like this project's machines.
if ! grep -q "inboxlink-tests" "$conf/pg_hba.conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust # inboxlink-tests' "$conf/pg_hba.conf"
fi
pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do answers && exit 0; sleep 1; done
echo "PostgreSQL did not start on $host:$port" >&2
exit 1
