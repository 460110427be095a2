#!/usr/bin/env bash
# arm64 smoke test under user-mode emulation (qemu-user-static + binfmt_misc).
#
# Builds an arm64 Debian bookworm root with mmdebstrap (from Debian's own archive), copies this
# checkout into it, installs the kiosk exactly as the README says (`make setup`: venv, pinned
# wheels -- pip picks the aarch64 builds of onnxruntime, opencv-python, mediapipe 0.10.18 and
# pygame -- and `kiosk models fetch`), then runs
#     kiosk run --source demo --headless --max-frames 60 --report -
# and a subset of the test suite, and fails on any error (including a non-zero or signal exit
# status of the kiosk: a kiosk that crashes at exit on a Pi is restarted by systemd).
#
# Timings under emulation mean nothing; correctness does. See docs/DEPLOY.md ("arm64 smoke test").
#
# Needs root (mmdebstrap --mode=root, chroot, mounts) and a kernel with binfmt_misc.
# Caches (git-ignored) in $ARM64_CACHE (default: .arm64-cache/ in the checkout):
#   bookworm-arm64.tar   the root file system (rebuilt when PACKAGES below change)
#   pip/                 pip's wheel/HTTP cache (mounted as the root's ~/.cache/pip)
# The root itself is unpacked fresh from the tarball on every run, so each run starts clean.
#
# Usage: tools/arm64_smoke.sh [--keep] [--tests "tests/test_a.py tests/test_b.py"]
#   --keep   leave the unpacked root in $ARM64_CACHE/root for inspection (mounts are removed)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ARM64_CACHE:-$REPO/.arm64-cache}
SUITE=bookworm
MIRROR=${ARM64_MIRROR:-http://deb.debian.org/debian}
# What `make setup` needs, plus the shared libraries the wheels link against (OpenCV: libGL,
# libglib; mediapipe: libGLES/EGL stubs are bundled) and git (pip metadata of the checkout).
PACKAGES="python3,python3-venv,python3-pip,make,ca-certificates,libgl1,libglib2.0-0,libegl1,libgles2"
TESTS_DEFAULT="tests/test_detect.py tests/test_embed.py tests/test_age_gender.py \
tests/test_expression.py tests/test_mesh.py tests/test_models.py tests/test_pipeline.py \
tests/test_arm64_exit.py"
TESTS=$TESTS_DEFAULT
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --tests) shift; TESTS=$1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "arm64_smoke: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '== arm64 %s [%ss] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }
die() { echo "arm64_smoke: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap --mode=root, chroot, mounts)"
ARCH=$(uname -m)

# 1. Emulation: qemu-user-static, binfmt_misc, mmdebstrap (Debian packages).
need=""
command -v mmdebstrap >/dev/null || need="$need mmdebstrap"
if [ "$ARCH" != aarch64 ]; then
  [ -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P ] || [ -x /usr/bin/qemu-aarch64-static ] \
    || need="$need qemu-user-static"
  command -v update-binfmts >/dev/null || need="$need binfmt-support"
fi
if [ -n "$need" ]; then
  log "installing$need from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need \
    debian-archive-keyring >/dev/null
fi
if [ "$ARCH" != aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/register ] \
    || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc (a container needs --privileged or the host's binfmt)"
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 \
    || die "cannot register qemu-aarch64 with binfmt_misc"
fi

mkdir -p "$CACHE/pip"
TARBALL=$CACHE/$SUITE-arm64.tar
STAMP=$CACHE/$SUITE-arm64.packages
# 2. The root file system, built once and cached as a tarball.
if [ ! -s "$TARBALL" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$PACKAGES" ]; then
  log "building the arm64 $SUITE root with mmdebstrap (first run only: a few minutes)"
  rm -rf "$CACHE/building.tar"
  mmdebstrap --quiet --mode=root --format=tar --arch=arm64 --variant=minbase --include="$PACKAGES" \
    "$SUITE" "$CACHE/building.tar" "$MIRROR" || die "mmdebstrap failed"
  mv "$CACHE/building.tar" "$TARBALL"
  echo "$PACKAGES" > "$STAMP"
else
  log "using cached root $TARBALL"
fi

ROOT=$CACHE/root
cleanup() {
  for m in root/.cache/pip dev/pts dev sys proc; do
    mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m" || true
  done
  if [ "$KEEP" = 0 ] && [ -d "$ROOT" ]; then rm -rf --one-file-system "$ROOT"; fi
}
trap cleanup EXIT
cleanup
rm -rf --one-file-system "$ROOT"
mkdir -p "$ROOT"
log "unpacking the root"
tar -xf "$TARBALL" -C "$ROOT"
# The kernel's views: onnxruntime's cpuinfo reads /proc/cpuinfo and /sys/devices/system/cpu and
# aborts the process when neither is there; a real Pi always has them.
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys"; mount --make-rslave "$ROOT/sys"
mount --rbind /dev "$ROOT/dev"; mount --make-rslave "$ROOT/dev"
mkdir -p "$ROOT/root/.cache/pip"
mount --bind "$CACHE/pip" "$ROOT/root/.cache/pip"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The host's CA bundle (it may hold a proxy's CA the root's ca-certificates does not know).
[ -s /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"

# 3. A clean copy of the checkout: tracked and new-but-not-ignored files, no venv/models/caches.
log "copying the checkout"
mkdir -p "$ROOT/src"
(cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
  | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
  | tar --null -T - -cf -) | tar -xf - -C "$ROOT/src"

cat > "$ROOT/smoke.sh" <<EOF
set -eu
cd /src
echo "== arm64 guest: \$(uname -m), \$(python3 --version)"
# The README's install: venv, pinned dependencies, mediapipe --no-deps, models fetch.
make setup PYTHON=python3
.venv/bin/python - <<'PY'
import platform, onnxruntime, cv2, mediapipe, numpy, pygame
print("== wheels:", platform.machine(), "onnxruntime", onnxruntime.__version__,
      "opencv", cv2.__version__, "mediapipe", mediapipe.__version__, "numpy", numpy.__version__,
      "pygame", pygame.version.ver)
assert platform.machine() == "aarch64", platform.machine()
PY
.venv/bin/kiosk models verify
echo "== kiosk run --source demo --headless --max-frames 60 --report -"
set +e
SDL_VIDEODRIVER=dummy .venv/bin/kiosk run --source demo --headless --max-frames 60 --report - > /tmp/report.json
rc=\$?
set -e
cat /tmp/report.json
[ \$rc = 0 ] || { echo "kiosk run exited with status \$rc"; exit 1; }
.venv/bin/python - <<'PY'
import json
r = json.load(open("/tmp/report.json"))
print("== report: frames", r["frames"], "max_faces_in_frame", r["max_faces_in_frame"],
      "visitors", len(r.get("visitors", [])))
assert r["frames"] > 0, "no frames processed"
assert r["max_faces_in_frame"] >= 1, "no face detected in the demo scene"
PY
echo "== pytest $TESTS"
SDL_VIDEODRIVER=dummy .venv/bin/python -m pytest -q -p no:cacheprovider $TESTS
EOF
log "installing and running inside the arm64 root (emulated: slow)"
set +e
# env -i: nothing of the host's environment (its pip configuration, proxies aside) leaks in.
env -i LANG=C.UTF-8 TERM=dumb PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_NO_INPUT=1 HOME=/root \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} ${HTTP_PROXY:+HTTP_PROXY=$HTTP_PROXY} \
  ${https_proxy:+https_proxy=$https_proxy} ${http_proxy:+http_proxy=$http_proxy} \
  chroot "$ROOT" /bin/bash /smoke.sh
rc=$?
set -e
[ $rc = 0 ] || die "inside the arm64 root (status $rc)"
log "PASS: installed, ran the demo and the tests on arm64 (emulated)"
