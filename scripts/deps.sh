#!/bin/sh
# Install every build and test dependency of sluice on Debian 12.
# Idempotent: packages already installed are left alone and apt-get runs only
# when something is missing.  Needs root (or sudo) only when it installs.
set -eu

PKGS="build-essential pkg-config check liblmdb-dev lmdb-utils libprotobuf-c-dev
protobuf-c-compiler libevent-dev libpq-dev libmariadb-dev librdkafka-dev
libinih-dev libsqlite3-dev libhiredis-dev libjemalloc-dev zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev clang-14
libclang-rt-14-dev llvm-14 kcat python3-kafka postgresql-15 postgresql-server-dev-15 postgresql-contrib mariadb-server mariadb-client redis-server
strace procps util-linux iproute2 curl nodejs systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Do not let the postgresql package start a cluster on the default port: tests
# start their own servers.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
