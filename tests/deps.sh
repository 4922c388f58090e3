#!/bin/sh
# SPDX-License-Identifier: ISC
# Install the Debian packages evkit needs to build and test; only what is missing.
# Works as root, or through sudo.
set -e
pkgs="gcc make git pkg-config libjq-dev libonig-dev jq libcriterion-dev libcsv-dev libxxhash-dev libsqlite3-dev sqlite3 librabbitmq-dev libcurl4-openssl-dev libsodium-dev libmicrohttpd-dev libgnutls28-dev libsystemd-dev rabbitmq-server curl wrk chromium python3-websocket python3-pika amqp-tools openssl bats parallel mandoc python3 systemd strace clang libclang-rt-14-dev time"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || true
$sudo apt-get install -y -q --no-install-recommends $missing
