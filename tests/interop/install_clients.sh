#!/usr/bin/env bash
# Install the real AWS clients that tests/interop drives, next to the checkout:
#   .interop/awscli-v1/          a venv with PyPI awscli (v1; it vendors its own botocore)
#   tests/interop/js/node_modules the AWS SDK for JavaScript v3, exactly as package-lock.json says
#   /usr/bin/aws                  Debian's AWS CLI v2 (apt, only as root and only when missing)
# boto3 needs nothing here: it is in the project venv, pinned in tests/constraints.txt.
# Idempotent and quiet: a second run only checks what is there and takes no time. A failed
# install stops the script and shows its log. Where a client may not be installed (apt needs
# root; no npm), it says so and goes on: those tests then skip, or fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")/../.."

AWSCLI_V1_VERSION=1.46.3
PYTHON=${PYTHON:-python3}
start=$(date +%s)
summary=()
mkdir -p .interop
log=.interop/install.log
: >"$log"

# Run a command with its output in the log; show the log only if it fails.
quietly() {
    if ! "$@" >>"$log" 2>&1; then
        echo "install_clients: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

# AWS CLI v1 in its own venv: awscli 1.46 no longer pins the botocore package, and the project
# venv's botocore is pinned for aiobotocore, so the two must not share an environment.
v1=.interop/awscli-v1
v1_dist="$v1/lib/python3*/site-packages/awscli-$AWSCLI_V1_VERSION.dist-info"
if [ -x "$v1/bin/aws" ] && compgen -G "$v1_dist" >/dev/null; then
    summary+=("awscli-v1 ok")
else
    rm -rf "$v1"
    quietly "$PYTHON" -m venv "$v1"
    quietly "$v1/bin/python" -m pip install --quiet --disable-pip-version-check \
        "awscli==$AWSCLI_V1_VERSION"
    summary+=("awscli-v1 installed")
fi

# The JS SDK: `npm ci` only when node_modules is missing or older than the lockfile.
js=tests/interop/js
if ! command -v npm >/dev/null; then
    summary+=("js-sdk skipped (no npm)")
elif [ -f "$js/node_modules/.package-lock.json" ] \
    && [ "$js/node_modules/.package-lock.json" -nt "$js/package-lock.json" ]; then
    summary+=("js-sdk ok")
else
    quietly npm ci --prefix "$js" --no-audit --no-fund --loglevel=error
    summary+=("js-sdk installed")
fi

# Debian's AWS CLI v2 (2.9.19 in bookworm). apt only as root; refresh the lists only when apt
# does not know the package or cannot fetch it (a fresh machine may have no lists, or old ones).
if [ "$(dpkg-query -W -f '${Status}' awscli 2>/dev/null)" = "install ok installed" ]; then
    summary+=("awscli-v2 ok")
elif [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    summary+=("awscli-v2 skipped (needs root and apt)")
else
    export DEBIAN_FRONTEND=noninteractive
    install_v2=(apt-get install -y -qq --no-install-recommends awscli)
    if ! apt-cache policy awscli 2>/dev/null | grep -q "Candidate: [0-9]" \
        || ! "${install_v2[@]}" >>"$log" 2>&1; then
        quietly apt-get update -qq
        quietly "${install_v2[@]}"
    fi
    summary+=("awscli-v2 installed")
fi

echo "install_clients: ${summary[*]}; took $(($(date +%s) - start))s"
