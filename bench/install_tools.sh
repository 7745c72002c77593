#!/usr/bin/env bash
# Install the programs `make bench` compares against or drives, from Debian, when missing:
#   wrk        the HTTP load generator (else bench/loadgen.py's own asyncio client is used)
#   awscli     Debian's AWS CLI v2 (2.9.19 in bookworm), the `aws configure export-credentials`
#              baseline (else those comparisons are skipped and the report says so)
# apt only as root; anything that cannot be installed is reported, not fatal. Idempotent.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
if ! { [ -x /usr/bin/aws ] && /usr/bin/aws --version 2>&1 | grep -q "^aws-cli/2\."; }; then
    missing+=(awscli)
fi
if [ ${#missing[@]} -eq 0 ]; then
    echo "install_tools: wrk and AWS CLI v2 present"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install_tools: missing ${missing[*]} (needs root and apt); the report will say so" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for package in "${missing[@]}"; do
    if ! apt-cache policy "$package" 2>/dev/null | grep -q "Candidate: [0-9]"; then
        apt-get update -qq >>"$log" 2>&1 || true
        break
    fi
done
if apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    echo "install_tools: installed ${missing[*]}"
else
    echo "install_tools: could not install ${missing[*]}; the report will say so" >&2
    tail -5 "$log" >&2
fi
