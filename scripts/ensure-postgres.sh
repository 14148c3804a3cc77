#!/bin/sh
# Makes sure the PostgreSQL tests have a server to start: Debian's `postgresql` package
# (its binaries under /usr/lib/postgresql/<version>/bin). Installs it with apt when
# missing (as root, or through sudo when that needs no password); otherwise stops and
# says how to install it. The tests never use the cluster the package may start: they
# run a private server of their own (scripts/private-postgres.mjs).
set -eu
for initdb in /usr/lib/postgresql/*/bin/initdb; do
  if [ -x "$initdb" ]; then
    exit 0
  fi
done
if [ "$(id -u)" -eq 0 ]; then
  AS_ROOT=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT="sudo -n"
else
  echo "ensure-postgres: PostgreSQL's binaries are missing and installing them needs root:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y postgresql" >&2
  exit 1
fi
echo "ensure-postgres: installing Debian's postgresql for the PostgreSQL tests" >&2
$AS_ROOT apt-get update
$AS_ROOT env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
