#!/bin/sh
# SPDX-License-Identifier: MIT
# Usage: with-nats-server.sh <nats-server> <program> [args...]
# Starts nats-server (JetStream on, a temporary store) on 127.0.0.1 and a port the server
# picks itself (-p -1, read back from its ports file: no race for the port), runs
# <program> [args...] <url>, and kills the server afterwards. Exits with the program's status.
set -u
server=$1
shift
dir=$(mktemp -d /tmp/admf-nats-example-XXXXXX)
"$server" -a 127.0.0.1 -p -1 -js -sd "$dir/store" --ports_file_dir "$dir" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
url=
tries=0
while [ -z "$url" ] && [ $tries -lt 200 ]; do # at most 10 s
    for f in "$dir"/*.ports; do
        [ -f "$f" ] && url=$(grep -o 'nats://127\.0\.0\.1:[0-9]*' "$f" | head -n 1)
    done
    [ -n "$url" ] || { tries=$((tries + 1)); sleep 0.05; }
done
if [ -z "$url" ]; then
    echo "with-nats-server.sh: nats-server did not start; its log:" >&2
    cat "$dir/server.log" >&2
    exit 1
fi
"$@" "$url"
