#!/bin/sh
# Verify deploy/consent-relay.service with systemd-analyze on a machine where consent-relay is
# not installed under /opt: the unit is copied with its executable path pointed at
# CONSENT_RELAY_BIN (default: the repository's .venv) and verified; nothing is installed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${CONSENT_RELAY_BIN:-$here/../.venv/bin/consent-relay}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[ -x "$bin" ] || { echo "no consent-relay executable at $bin" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s#/opt/consent-relay/bin/consent-relay#$bin#g" "$here/consent-relay.service" \
    > "$tmp/consent-relay.service"
cd "$tmp"
systemd-analyze verify "$tmp/consent-relay.service"
echo "consent-relay.service: systemd-analyze verify passed"
