#!/bin/sh
# Makes sure the browser tests have a Chromium: Debian's `chromium` package at
# /usr/bin/chromium. Installs it with apt when missing (as root, or through sudo when
# that needs no password); otherwise stops and says how to install it.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  AS_ROOT=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT="sudo -n"
else
  echo "ensure-chromium: $CHROMIUM is missing and installing it needs root:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium for the browser tests" >&2
$AS_ROOT apt-get update
$AS_ROOT env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
