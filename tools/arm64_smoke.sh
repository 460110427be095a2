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
# Caches (git-ignored) in $ARM64_CACHE (default: .arm64-cache/ in the checkout; may be shared
# between checkouts):
#   bookworm-arm64.tar   the root file system (rebuilt when PACKAGES below change)
#   pip/                 pip's wheel/HTTP cache (mounted as the root's ~/.cache/pip)
# The root itself is unpacked fresh from the tarball on every run, so each run starts clean, into
# $ARM64_ROOT (default: .arm64-cache/root in this checkout, never inside a shared $ARM64_CACHE).
#
# The emulated processor is $ARM64_CPU (default cortex-a72, the Raspberry Pi 4's core, the oldest
# the kiosk supports; cortex-a76 is the Pi 5's). qemu's own default ("max") announces every
# optional arm64 extension (SVE, SME, ...), so the libraries would pick code paths that no Pi has.
#
# Each phase's duration is printed as "== arm64 phase: NAME took Ns" and summed up at the end.
#
# Usage: tools/arm64_smoke.sh [--keep] [--tests "tests/test_a.py tests/test_b.py::test_c"]
#   --keep   leave the unpacked root in $ARM64_ROOT for inspection (mounts are removed)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ARM64_CACHE:-$REPO/.arm64-cache}
SUITE=bookworm
MIRROR=${ARM64_MIRROR:-http://deb.debian.org/debian}
# What `make setup` needs, plus the shared libraries the wheels link against (OpenCV: libGL,
# libglib; mediapipe: libGLES/EGL stubs are bundled) and git (pip metadata of the checkout).
PACKAGES="python3,python3-venv,python3-pip,make,ca-certificates,libgl1,libglib2.0-0,libegl1,libgles2"
# The subset: each model's numerics against an independent reference (OpenCV's own YuNet/SFace,
# dlib's chip extraction, the Keras reference), the mesh on real photos, and the pipeline's threads
# and shutdown. Whole files would take hours under emulation.
TESTS_DEFAULT="tests/test_models.py::test_all_files_verify \
tests/test_models.py::test_expression_conversion_matches_numpy_reference \
tests/test_detect.py::test_astronaut_one_face \
tests/test_embed.py::test_embed_matches_opencv_feature tests/test_embed.py::test_same_person \
tests/test_embed.py::test_different_people \
tests/test_age_gender.py::test_kiosk_agrees_with_dlib_pipeline \
tests/test_expression.py::test_broad_smiles_are_happy \
tests/test_mesh.py::test_mesh_points_lie_on_the_detected_face \
tests/test_pipeline.py::test_lossless_source_processes_every_frame_then_ends \
tests/test_pipeline.py::test_stop_returns_promptly_while_frames_flow tests/test_arm64_exit.py"
TESTS=$TESTS_DEFAULT
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --tests) shift; TESTS=$1 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
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
  # mmdebstrap checks a foreign architecture with arch-test (only "recommended" by its package,
  # so --no-install-recommends leaves it out): "E: install arch-test for foreign architecture support".
  command -v arch-test >/dev/null || need="$need arch-test"
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

ROOT=$(realpath -m "${ARM64_ROOT:-$REPO/.arm64-cache/root}")
CPU=${ARM64_CPU:-cortex-a72}
cleanup() {
  # Anything still running inside the root (a run interrupted by ^C or a timeout) goes first.
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  for m in root/.cache/pip dev sys proc; do
    mountpoint -q "$ROOT/$m" 2>/dev/null && umount -R -l "$ROOT/$m" || true
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
T0=\$(date +%s); T=\$T0
phase() {  # the phase that just ended: print its duration and keep it for the summary
  now=\$(date +%s); echo "== arm64 phase: \$1 took \$((now - T))s" | tee -a /tmp/phases; T=\$now
}
echo "== arm64 guest: \$(uname -m), emulated CPU \${QEMU_CPU:-qemu default}, \$(python3 --version)"
# The README's install, \`make setup\`, in its two steps: the venv with the pinned wheels
# (mediapipe --no-deps), then \`kiosk models fetch\`.
make .venv/.installed PYTHON=python3
phase "make setup: venv + pinned wheels"
make setup PYTHON=python3
phase "make setup: kiosk models fetch"
.venv/bin/python - <<'PY'
import platform, onnxruntime, cv2, mediapipe, numpy, pygame
print("== wheels:", platform.machine(), "onnxruntime", onnxruntime.__version__,
      "opencv", cv2.__version__, "mediapipe", mediapipe.__version__, "numpy", numpy.__version__,
      "pygame", pygame.version.ver)
assert platform.machine() == "aarch64", platform.machine()
PY
.venv/bin/kiosk models verify
phase "wheels check + kiosk models verify"
# The kiosk as the issue asks: 60 frames of the demo, headless, report on stdout. Two settings
# differ from kiosk.example.yaml, both for emulation only (see docs/DEPLOY.md):
# - camera.realtime false: every frame is analysed, none dropped. In real time the demo scene
#   would keep one emulated core busy drawing frames that a 50x slower analysis skips.
# - privacy.kernel_enforcement best_effort: qemu-user applies syscalls for the guest itself, so
#   the guest's seccomp/Landlock requests are not the kernel's to honour; the report's notes say
#   what was applied. On a Pi the default (required) stays.
cat > /tmp/emulated.yaml <<'YAML'
camera:
  realtime: false
privacy:
  kernel_enforcement: best_effort
YAML
echo "== kiosk run --config /tmp/emulated.yaml --source demo --headless --max-frames 60 --report -"
set +e
SDL_VIDEODRIVER=dummy .venv/bin/kiosk run --config /tmp/emulated.yaml --source demo --headless \
  --max-frames 60 --report - > /tmp/report.json 2> /tmp/kiosk.err
rc=\$?
set -e
tail -n 40 /tmp/kiosk.err
cat /tmp/report.json
echo "== kiosk exit status: \$rc"
[ \$rc = 0 ] || { echo "kiosk run exited with status \$rc (>128: signal \$((rc - 128)))"; exit 1; }
.venv/bin/python - <<'PY'
import json
r = json.load(open("/tmp/report.json"))
print("== report: frames", r["frames"], "max_faces_in_frame", r["max_faces_in_frame"],
      "embeddings", r["embeddings_computed"], "visitors", len(r.get("visitors", [])))
assert r["frames"] == 60, "not all 60 frames analysed"
assert r["max_faces_in_frame"] >= 1, "no face detected in the demo scene"
assert r["embeddings_computed"] >= 1, "no face embedded"
PY
phase "kiosk run (60 demo frames) + report check"
echo "== pytest $TESTS"
SDL_VIDEODRIVER=dummy .venv/bin/python -m pytest -q -p no:cacheprovider --durations=10 $TESTS
phase "test subset"
echo "== arm64 phases (guest total \$((\$(date +%s) - T0))s):"; cat /tmp/phases
EOF
log "installing and running inside the arm64 root (emulated $CPU: slow)"
set +e
# env -i: nothing of the host's environment (its pip configuration, proxies aside) leaks in.
env -i LANG=C.UTF-8 TERM=dumb PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
  PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_NO_INPUT=1 HOME=/root QEMU_CPU="$CPU" \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ${HTTPS_PROXY:+HTTPS_PROXY=$HTTPS_PROXY} ${HTTP_PROXY:+HTTP_PROXY=$HTTP_PROXY} \
  ${https_proxy:+https_proxy=$https_proxy} ${http_proxy:+http_proxy=$http_proxy} \
  chroot "$ROOT" /bin/bash /smoke.sh
rc=$?
set -e
[ $rc = 0 ] || die "inside the arm64 root (status $rc)"
log "PASS: installed, ran the demo and the tests on arm64 (emulated $CPU)"
