#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking admf-bus needs.
# Idempotent; needs root (or sudo). Skips apt entirely when everything is already present.
set -euo pipefail

packages=(
    build-essential cmake g++ clang-14 libclang-rt-14-dev   # compilers, sanitizer runtimes
    catch2 libbenchmark-dev                                  # tests, micro-benchmarks
    libboost-dev libconcurrentqueue-dev                      # ring adapters (optional for users)
    libreaderwriterqueue-dev libatomic-queue-dev             # benchmark baselines
    util-linux                                               # setarch/taskset
    prometheus                                               # promtool: checks the metrics exposition
    gnuplot-nox                                              # plots admf-scaling-scenario (docs/plots/)
    libnats-dev nats-server                                  # NATS bridge (optional for users) and its tests
    spin                                                     # Promela models (tests/models, TESTING T3)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    echo "install-deps: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
