#!/usr/bin/env bash
# Install the Surveillance Mirror kiosk as a self-starting, self-healing systemd service.
#
#   sudo tools/install.sh [--display console|cage] [--source SPEC] [--platform auto|pi|jetson]
#                         [--prefix /opt/kiosk] [--ort-gpu WHEEL_OR_REQUIREMENT] [--start] [--dry-run]
#
# For Raspberry Pi OS Bookworm 64-bit (Pi 4, Pi 5) and NVIDIA JetPack 6 (Jetson Orin). Run it
# from a checkout of the repository; run it again after `git pull` to update (every step is
# idempotent: what is already in place is left alone, /etc/kiosk/kiosk.yaml is never overwritten).
#
#   --display console  (default) SDL draws straight to the screen (KMSDRM); rebuilds pygame
#                      against the system SDL, because pygame's PyPI wheels lack KMSDRM.
#   --display cage     the Wayland kiosk compositor cage (pygame's wheel works as is).
#   --source SPEC      camera.source written into a new /etc/kiosk/kiosk.yaml, e.g. picamera2,
#                      camera:0, or gst:... (default: picamera2 on a Pi, demo elsewhere).
#   --ort-gpu X        replace onnxruntime by X (a wheel file or requirement for onnxruntime-gpu,
#                      e.g. NVIDIA's JetPack build); default: keep the CPU build.
#   --start            (re)start the service now instead of at the next boot.
#   --dry-run          print every action, change nothing (no root needed).
#
# What it does, in order: apt packages; service user `kiosk` in video/render/input; the
# checkout copied to PREFIX/src (root-owned, read-only for the service); a venv at PREFIX/venv
# with --system-site-packages (Picamera2 and, on Jetson, GStreamer-enabled OpenCV come from
# apt); the kiosk and its pinned dependencies; the models (fetched and verified); the config;
# the unit (enabled, the other variant disabled, getty on tty1 disabled); screen blanking off
# and (Pi) the memory cgroup on, in cmdline.txt. See docs/DEPLOY.md.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
display=console
source_spec=""
platform=auto
prefix=/opt/kiosk
ort_gpu=""
start=0
dry_run=0

die() { echo "install: $*" >&2; exit 2; }
say() { echo "== $*"; }
# Every change goes through run(): printed, and skipped in a dry run.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if ((dry_run == 0)); then "$@"; fi
}

while (($#)); do
    case "$1" in
        --display) display="${2:?}"; shift 2 ;;
        --source) source_spec="${2:?}"; shift 2 ;;
        --platform) platform="${2:?}"; shift 2 ;;
        --prefix) prefix="${2:?}"; shift 2 ;;
        --ort-gpu) ort_gpu="${2:?}"; shift 2 ;;
        --start) start=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$display" in console|cage) ;; *) die "--display must be console or cage, not '$display'" ;; esac

# --- platform -----------------------------------------------------------------------------
if [[ "$platform" == auto ]]; then
    if [[ -r /etc/nv_tegra_release ]]; then platform=jetson
    elif grep -qs "Raspberry Pi" /proc/device-tree/model; then platform=pi
    else platform=other
    fi
fi
case "$platform" in pi|jetson|other) ;; *) die "--platform must be auto, pi or jetson" ;; esac
# The userland's architecture, not the kernel's: 32-bit Raspberry Pi OS on a Pi 4 runs a 64-bit
# kernel (uname -m says aarch64) under an armhf userland that no onnxruntime wheel exists for.
arch="$(dpkg --print-architecture 2>/dev/null || uname -m)"
if [[ "$arch" != arm64 && "$arch" != amd64 && "$arch" != aarch64 && "$arch" != x86_64 ]]; then
    msg="this is a $arch system: onnxruntime and MediaPipe have no wheels for it; install the 64-bit OS (Raspberry Pi OS 64-bit / JetPack 6)"
    if ((dry_run)); then echo "install: warning: $msg"; else die "$msg"; fi
fi
case "$prefix" in
    /home/*|/root/*|/run/user/*) die "--prefix $prefix: the unit's ProtectHome=yes hides /home, /root and /run/user from the service; use e.g. /opt/kiosk" ;;
    /*) ;;
    *) die "--prefix must be an absolute path" ;;
esac
if ((dry_run == 0)) && ((EUID != 0)); then
    die "run as root (sudo tools/install.sh ...), or add --dry-run to see what it would do"
fi
[[ -z "$source_spec" ]] && { if [[ "$platform" == pi ]]; then source_spec=picamera2; else source_spec=demo; fi; }
unit=kiosk.service
other_unit=kiosk-cage.service
if [[ "$display" == cage ]]; then unit=kiosk-cage.service; other_unit=kiosk.service; fi
src="$prefix/src"
venv="$prefix/venv"
echo "install: platform $platform ($arch), display $display ($unit), source $source_spec, prefix $prefix$( ((dry_run)) && echo ', DRY RUN')"

# --- 1. system packages --------------------------------------------------------------------
say "system packages"
packages=(python3-venv python3-dev v4l-utils util-linux)
[[ "$platform" == pi ]] && packages+=(python3-picamera2 rpicam-apps)
if [[ "$display" == console ]]; then
    # To build pygame against Debian's SDL, which has the KMSDRM driver.
    packages+=(build-essential pkg-config libsdl2-dev libsdl2-ttf-dev libsdl2-image-dev
               libsdl2-mixer-dev libfreetype-dev libportmidi-dev libjpeg-dev libpng-dev)
else
    packages+=(cage seatd)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    run apt-get update
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "all present: ${packages[*]}"
fi

# --- 2. service user ------------------------------------------------------------------------
say "service user kiosk"
if id kiosk >/dev/null 2>&1; then
    echo "user kiosk exists"
else
    run useradd --system --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin --comment "Surveillance Mirror kiosk" kiosk
fi
for g in video render input; do
    if ! getent group "$g" >/dev/null; then
        echo "no group $g on this system (skipped)"
    elif id -nG kiosk 2>/dev/null | tr ' ' '\n' | grep -qx "$g"; then
        echo "kiosk is in $g"
    else
        run usermod -aG "$g" kiosk
    fi
done

# --- 3. the code, read-only for the service ---------------------------------------------------
say "code at $src"
if [[ "$(realpath -m "$repo")" == "$(realpath -m "$src")" ]]; then
    echo "running from $src itself: nothing to copy"
else
    run mkdir -p "$src"
    # Models, demo photos and the developer's venv are not copied: fetched/made below.
    echo "+ tar -C $repo -c . | tar -C $src -x  (without .git .venv models/files assets/demo/photos caches)"
    if ((dry_run == 0)); then
        tar -C "$repo" --exclude=./.git --exclude=./.venv --exclude=./models/files \
            --exclude=./assets/demo/photos --exclude='__pycache__' --exclude=./.pytest_cache \
            --exclude=./.mypy_cache --exclude=./.ruff_cache --exclude='*.egg-info' -cf - . \
            | tar -C "$src" --no-same-owner -xf -
    fi
    run chown -R root:root "$src"
    run chmod -R go-w "$src"
fi

# --- 4. venv and Python packages -----------------------------------------------------------------
say "venv at $venv"
if [[ -x "$venv/bin/python" ]]; then
    echo "venv exists"
else
    # --system-site-packages: Picamera2 (and libcamera's bindings) exist only as apt packages,
    # and on Jetson so does the OpenCV with GStreamer and CUDA.
    run python3 -m venv --system-site-packages "$venv"
    run "$venv/bin/python" -m pip install --quiet --upgrade pip
fi
mediapipe="$(sed -n 's/^MEDIAPIPE *:= *//p' "$repo/Makefile")"
[[ -n "$mediapipe" ]] || mediapipe="mediapipe==0.10.18"
run "$venv/bin/pip" install --quiet -c "$src/constraints.txt" -e "$src"
# --no-deps: mediapipe declares opencv-contrib-python, jax, jaxlib it never imports (see setup.py).
run "$venv/bin/pip" install --quiet --no-deps -c "$src/constraints.txt" "$mediapipe"

if [[ "$display" == console ]]; then
    # pygame's wheels bundle an SDL without KMSDRM; build pygame against the system SDL.
    if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" - <<'PY' 2>/dev/null
import pathlib, sys
import pygame  # noqa: F401
maps = pathlib.Path("/proc/self/maps").read_text().split()
sdl = next((p for p in maps if "libSDL2-2.0.so" in p or "libSDL2-2" in p), None)
sys.exit(0 if sdl and b"KMSDRM" in pathlib.Path(sdl).read_bytes() else 1)
PY
    then
        echo "pygame's SDL has KMSDRM"
    else
        pygame_pin="$(sed -n 's/^pygame==//p' "$repo/constraints.txt")"
        run "$venv/bin/pip" install --quiet --force-reinstall --no-deps --no-binary pygame "pygame==${pygame_pin:-2.6.1}"
    fi
fi
if [[ "$platform" == jetson ]]; then
    # The pip OpenCV has no GStreamer (needed for nvarguscamerasrc); JetPack's has. Remove the
    # venv's copy so the system one (through --system-site-packages) is imported.
    if /usr/bin/python3 -c 'import cv2, sys; sys.exit(0 if "GStreamer:                   YES" in cv2.getBuildInformation() else 1)' 2>/dev/null; then
        run "$venv/bin/pip" uninstall --yes opencv-python
    else
        echo "install: warning: the system OpenCV has no GStreamer (sudo apt install nvidia-opencv); gst: sources will not work" >&2
    fi
fi
if [[ -n "$ort_gpu" ]]; then
    run "$venv/bin/pip" uninstall --yes onnxruntime
    run "$venv/bin/pip" install --quiet "$ort_gpu"
fi
# Byte code compiled now, as root: the service never writes .pyc files (read-only, and
# PYTHONDONTWRITEBYTECODE=1).
run "$venv/bin/python" -m compileall -q "$src/kiosk"

# --- 5. models ------------------------------------------------------------------------------
say "models"
run "$venv/bin/kiosk" models fetch

# --- 6. configuration ---------------------------------------------------------------------------
say "configuration /etc/kiosk/kiosk.yaml"
if [[ -e /etc/kiosk/kiosk.yaml ]]; then
    echo "/etc/kiosk/kiosk.yaml exists: left as it is"
else
    run install -d -m 0755 /etc/kiosk
    run install -m 0640 -o root -g kiosk "$src/kiosk.example.yaml" /etc/kiosk/kiosk.yaml
    if [[ "$source_spec" != demo ]]; then
        # As a single-quoted YAML string (a GStreamer pipeline holds characters YAML cares about);
        # escaped for sed's replacement text.
        yaml_value="'${source_spec//\'/\'\'}'"
        sed_value="$(printf '%s' "$yaml_value" | sed -e 's/[\\&|]/\\&/g')"
        run sed -i "s|^  source: demo\$|  source: $sed_value|" /etc/kiosk/kiosk.yaml
    fi
fi
run "$venv/bin/kiosk" check-config /etc/kiosk/kiosk.yaml

# --- 7. the unit -------------------------------------------------------------------------------
say "systemd unit $unit"
run install -m 0644 "$src/systemd/$unit" "/etc/systemd/system/$unit"
if [[ "$prefix" != /opt/kiosk ]]; then
    run sed -i "s|/opt/kiosk|$prefix|g" "/etc/systemd/system/$unit"
fi
if [[ "$platform" == jetson ]]; then
    run install -d -m 0755 "/etc/systemd/system/$unit.d"
    run install -m 0644 "$src/systemd/jetson.conf" "/etc/systemd/system/$unit.d/jetson.conf"
fi
# /var/lib/kiosk is writable only when the config persists the daily counters.
if grep -Eq '^[[:space:]]*persist_aggregates:[[:space:]]*true' /etc/kiosk/kiosk.yaml; then
    run install -d -m 0755 "/etc/systemd/system/$unit.d"
    run install -m 0644 "$src/systemd/aggregates.conf" "/etc/systemd/system/$unit.d/aggregates.conf"
fi
if [[ -e "/etc/systemd/system/$other_unit" ]]; then
    run systemctl disable --now "$other_unit"
fi
if [[ "$display" == cage ]]; then
    run systemctl enable seatd.service
fi
# The kiosk owns tty1: no login prompt (or auto-login session) on it.
run systemctl disable getty@tty1.service
# A desktop session would hold the screen: boot to the console.
if [[ "$(systemctl get-default 2>/dev/null || true)" == graphical.target ]]; then
    run systemctl set-default multi-user.target
fi
run systemctl daemon-reload
run systemctl enable "$unit"

# --- 8. boot options (Raspberry Pi): no console blanking, memory cgroup on ------------------------
if [[ "$platform" == pi ]]; then
    say "kernel command line"
    cmdline=/boot/firmware/cmdline.txt
    [[ -e "$cmdline" ]] || cmdline=/boot/cmdline.txt
    # consoleblank=0: the text console never blanks the screen. cgroup_enable=memory: the
    # memory controller that MemorySwapMax=0 (no frame in swap) needs; Raspberry Pi kernels
    # disable it by default.
    backed_up=0
    for opt in consoleblank=0 cgroup_enable=memory; do
        if [[ -e "$cmdline" ]] && grep -qw -- "$opt" "$cmdline"; then
            echo "$cmdline has $opt"
            continue
        fi
        if [[ ! -e "$cmdline" ]] && ((dry_run == 0)); then
            echo "install: warning: no /boot/firmware/cmdline.txt or /boot/cmdline.txt; add $opt to the kernel command line yourself" >&2
            continue
        fi
        if ((backed_up == 0)) && [[ ! -e "$cmdline.kiosk-backup" ]]; then
            run cp "$cmdline" "$cmdline.kiosk-backup"
            backed_up=1
        fi
        run sed -i "1 s/\$/ $opt/" "$cmdline"
        reboot_needed=1
    done
fi

# --- 9. start ---------------------------------------------------------------------------------
if ((start)); then
    run systemctl restart "$unit"
    echo "started: journalctl -u ${unit%.service} -f    (checks: $venv/bin/kiosk doctor --config /etc/kiosk/kiosk.yaml)"
else
    echo "installed. ${reboot_needed:+Reboot (kernel options changed), or }start it now: sudo systemctl start $unit"
    echo "check the setup: sudo -u kiosk $venv/bin/kiosk doctor --config /etc/kiosk/kiosk.yaml"
fi
