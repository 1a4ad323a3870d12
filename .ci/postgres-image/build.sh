#!/usr/bin/env bash
# Builds a PostgreSQL image from Debian's packages, for machines that can reach Debian's
# archive but no container registry: debootstrap a minimal Debian with PostgreSQL into a
# folder, add an entrypoint compatible with the official image, and `docker import` it.
# Usage: build.sh [IMAGE] (default constraint-harness/postgres:15). Reuses an existing image.
set -euo pipefail
IMAGE=${1:-constraint-harness/postgres:15}
MAJOR=${IMAGE##*:}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HERE=$(cd "$(dirname "$0")" && pwd)

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already exists: reusing it"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/ch-rootfs.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "debootstrap $SUITE with postgresql-$MAJOR into $ROOT …"
debootstrap --variant=minbase --include="postgresql-$MAJOR" "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -20 "$ROOT.log" >&2; exit 1; }
rm -f "$ROOT.log"
# the package's own cluster and caches are not part of the image
rm -rf "$ROOT/var/lib/postgresql/$MAJOR" "$ROOT/etc/postgresql/$MAJOR" "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/var/lib/apt/lists/"*
install -m 0755 "$HERE/docker-entrypoint.sh" "$ROOT/usr/local/bin/docker-entrypoint.sh"

tar -C "$ROOT" -c . | docker import \
  --change "ENV PATH=/usr/lib/postgresql/$MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change 'EXPOSE 5432' \
  - "$IMAGE"
echo "built $IMAGE"
