#!/usr/bin/env bash
# Privacy audit: run a headless kiosk session under `strace -f` and fail if any process of it
# created, wrote, renamed or removed a file, or used the network.
#
#   tools/privacy_audit.sh [--frames N] [--config FILE] [--window] [--allow PREFIX]... [--keep DIR] [-- COMMAND...]
#
# Default command: .venv/bin/kiosk run --source demo --headless --max-frames N --report - [--config FILE]
# (N = 200). --window: the kiosk with its real window, on an Xvfb server the audit starts (not
# traced; its socket is allowed by name). After `--`, any other command is traced instead (tests
# use this to prove that a leaking variant is caught).
#
# What counts as a violation (every thread and child process, the whole lifetime, start-up
# included; C libraries too, which the in-process audit hook cannot see):
#   - open/openat/creat for writing, appending, creating or truncating,
#   - rename, link, symlink, unlink, mkdir, rmdir, mknod, truncate,
#   - Internet and packet sockets, and connect/bind/sendto/sendmsg to any address,
#   - io_uring (its reads, writes and connects are not system calls strace can see),
# except what is explicitly allowed: opening an existing character device under /dev (camera,
# display, /dev/null; NOT /dev/shm, /dev/mqueue, /dev/hugepages, which are RAM file systems that
# outlive the process, counted as disk like /tmp and $HOME), kernel interfaces under /proc and
# /sys, pipes, and the --allow prefixes. Creating, renaming or removing anything is allowed only
# under --allow. Paths are resolved as the kernel did: *at() calls against their directory file
# descriptor, relative paths against the current folder (chdir/fchdir followed), and for a
# successful open the path the kernel reports (symbolic links and /proc/self/fd links
# followed). Calls that failed (EACCES, ENOENT...)
# wrote nothing; they are listed as attempts and do not fail the audit. Programs started are
# listed. Netlink sockets (the kernel's device notifications) are not network and are allowed.
# Also reported (not a privacy matter): memory mappings that systemd's MemoryDenyWriteExecute=yes
# would refuse (writable+executable mmap, mprotect adding PROT_EXEC), i.e. whether the unit's
# setting is compatible with what this run loaded.
#
# The traced session gets an empty HOME (a fresh service user has no caches, so a library that
# writes a cache shows up here), PYTHONDONTWRITEBYTECODE=1 and a RUNTIME_DIRECTORY made for it
# (both as in the systemd unit; the runtime folder is the one --allow given by the audit itself).
#
# Exit status: 0 pass, 1 violations, 2 usage error or strace missing, 3 the traced command
# failed (no violations found, but a run that did not complete proves nothing).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
frames=200
config=""
keep=""
window=0
allow=()
cmd=()

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while (($#)); do
    case "$1" in
        --frames) frames="${2:?--frames needs a number}"; shift 2 ;;
        --config) config="${2:?--config needs a file}"; shift 2 ;;
        --allow) allow+=("${2:?--allow needs a path prefix}"); shift 2 ;;
        --keep) keep="${2:?--keep needs a folder}"; shift 2 ;;
        --window) window=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; cmd=("$@"); break ;;
        *) echo "privacy_audit: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
done

if ! command -v strace >/dev/null 2>&1; then
    echo "privacy_audit: strace is not installed (Debian/Ubuntu: sudo apt-get install -y strace)" >&2
    exit 2
fi
python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x "$python" ]] || python="$(command -v python3)"

if ((${#cmd[@]} == 0)); then
    kiosk="${KIOSK_BIN:-$repo/.venv/bin/kiosk}"
    cmd=("$kiosk" run --source demo --max-frames "$frames" --report -)
    ((window)) || cmd+=(--headless)
    [[ -n "$config" ]] && cmd+=(--config "$config")
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/privacy-audit.XXXXXX")"
# The runtime folder, as the unit's RuntimeDirectory=kiosk (/run/kiosk): in RAM, made by the
# audit (not by the traced command), the one place allowed by name. The kiosk keeps library
# caches there (matplotlib's font list); with it, nothing needs a folder in /dev/shm.
runtime="$(mktemp -d /dev/shm/privacy-audit-runtime.XXXXXX 2>/dev/null || mktemp -d "$work/runtime.XXXXXX")"
cleanup() {
    if [[ -n "$keep" ]]; then mkdir -p "$keep" && cp -r "$work"/. "$keep"/; fi
    if [[ -n "$xvfb_pid" ]]; then kill "$xvfb_pid" 2>/dev/null || true; wait "$xvfb_pid" 2>/dev/null || true; fi
    rm -rf "$work" "$runtime"
}
xvfb_pid=""
trap cleanup EXIT
mkdir "$work/home" "$work/trace"
allow+=("$runtime")

video=(SDL_VIDEODRIVER="${SDL_VIDEODRIVER:-dummy}")
if ((window)); then
    if ! command -v Xvfb >/dev/null 2>&1; then
        echo "privacy_audit: --window needs Xvfb (Debian/Ubuntu: sudo apt-get install -y xvfb)" >&2
        exit 2
    fi
    # -displayfd: the server picks a free display number and writes it when it is ready.
    Xvfb -displayfd 3 -screen 0 1280x720x24 -nolisten tcp 3>"$work/display" >/dev/null 2>&1 &
    xvfb_pid=$!
    for _ in $(seq 150); do [[ -s "$work/display" ]] && break; sleep 0.1; done
    number="$(tr -d '[:space:]' <"$work/display")"
    if [[ -z "$number" ]]; then
        echo "privacy_audit: Xvfb did not start" >&2
        exit 2
    fi
    video=(SDL_VIDEODRIVER=x11 DISPLAY=":$number")
    # The display's socket (path and abstract name) is the one Unix socket the window needs.
    allow+=("/tmp/.X11-unix/X$number" "@/tmp/.X11-unix/X$number")
fi

echo "privacy audit: tracing: ${cmd[*]}"
status=0
# -ff: one file per thread/process, so no call is split over two lines. -y: file descriptors
# and AT_FDCWD are printed with their paths, so relative paths and results can be resolved.
env -u XDG_CACHE_HOME -u XDG_CONFIG_HOME -u XDG_DATA_HOME -u MPLCONFIGDIR -u NOTIFY_SOCKET \
    HOME="$work/home" RUNTIME_DIRECTORY="$runtime" PYTHONDONTWRITEBYTECODE=1 "${video[@]}" \
    SDL_AUDIODRIVER=dummy \
    strace -f -ff -y -qq -s 128 -o "$work/trace/t" -e trace=%file,%network,%process,mmap,mprotect,pkey_mprotect,shmat,io_uring_setup,fchdir -- "${cmd[@]}" \
    >"$work/stdout" 2>"$work/stderr" || status=$?

verdict=0
"$python" - "$work/trace" "$work/home" "${allow[@]+"${allow[@]}"}" <<'PY' || verdict=$?
"""Read strace -ff -y output; print a summary; exit 1 on violations."""
import collections
import os
import re
import stat
import sys

trace_dir, home = sys.argv[1], sys.argv[2]
allowed = [p.rstrip("/") + "/" for p in sys.argv[3:]]  # --allow: the only places files may be made
kernel_interfaces = ("/proc/", "/sys/")
# RAM file systems under /dev: files there outlive the process, like files on disk.
dev_filesystems = ("/dev/shm", "/dev/mqueue", "/dev/hugepages")
line_re = re.compile(r"^(?P<call>[a-z0-9_]+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)(?P<rest>.*)$")
str_re = re.compile(r'"((?:[^"\\]|\\.)*)"')
fd_re = re.compile(r"^(?:AT_FDCWD|\d+)<([^>]*)>")
write_flags = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")
inet_families = ("AF_INET", "AF_INET6", "AF_PACKET", "AF_BLUETOOTH", "AF_CAN", "AF_VSOCK")
file_calls = {
    "rename": (0, 1), "renameat": (1, 3), "renameat2": (1, 3), "link": (0, 1), "linkat": (1, 3),
    "symlink": (1,), "symlinkat": (2,), "unlink": (0,), "unlinkat": (1,), "rmdir": (0,),
    "mkdir": (0,), "mkdirat": (1,), "mknod": (0,), "mknodat": (1,), "truncate": (0,),
}


def split_args(text):
    """Top-level comma split that respects quotes, brackets and <...> decorations."""
    out, depth, cur, quote, esc = [], 0, [], False, False
    for ch in text:
        if quote:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                quote = False
            continue
        if ch == '"':
            quote = True
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if cur:
        out.append("".join(cur).strip())
    return out


def unquote(arg):
    m = str_re.search(arg)
    return m.group(1).encode().decode("unicode_escape") if m else None


def resolve(path, base):
    if path is None:
        return None
    if not path.startswith("/") and base:
        path = os.path.join(base, path)
    return os.path.normpath(path)


def under(path, prefixes):
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def is_allowed(path):
    """May something be created, renamed or removed here? Only under --allow."""
    if path is None:
        return True
    if path.startswith(("pipe:", "socket:", "anon_inode:")):
        return True
    return under(path, allowed)


def is_device(path):
    """An existing character device under /dev, not inside a RAM file system there."""
    if not path.startswith("/dev/") or under(path, dev_filesystems):
        return False
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def may_open_for_writing(path):
    if path is None or is_allowed(path) or is_device(path):
        return True
    return path.startswith(kernel_interfaces) and not re.match(r"^/proc/[^/]+/fd/", path)


violations, attempts = [], []
wx_maps = []
mmaps = 0
programs = collections.Counter()
allowed_writes = collections.Counter()
sockets = collections.Counter()
examined = 0
files = sorted(os.listdir(trace_dir))
for name in files:
    cwd = None
    with open(os.path.join(trace_dir, name), encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            m = line_re.match(raw.strip())
            if not m:
                continue
            examined += 1
            call, args, ret, rest = m["call"], split_args(m["args"]), m["ret"], m["rest"]
            ok = ret != "?" and (int(ret) >= 0 or "EINPROGRESS" in rest)
            for a in args:
                fm = re.match(r"^AT_FDCWD<([^>]*)>", a)
                if fm:
                    cwd = fm.group(1)
            where = f"[{name.split('.')[-1]}] {raw.strip()[:160]}"
            if call == "chdir" and ok:
                cwd = resolve(unquote(args[0]), cwd)
                continue
            if call == "fchdir" and ok:
                fdm = fd_re.match(args[0]) if args else None
                cwd = fdm.group(1) if fdm else None
                continue
            if call == "io_uring_setup":
                if ok:
                    violations.append(("io_uring", "its file and network operations are invisible to strace", where))
                continue
            if call in ("mmap", "mprotect", "pkey_mprotect", "shmat"):
                mmaps += call == "mmap"
                text = m["args"]
                if (call == "mmap" and "PROT_WRITE" in text and "PROT_EXEC" in text) or \
                        (call.endswith("protect") and "PROT_EXEC" in text) or (call == "shmat" and "SHM_EXEC" in text):
                    wx_maps.append(where)
                continue
            if call == "execve" and ok:
                programs[os.path.basename(unquote(args[0]) or "?")] += 1
            elif call in ("open", "openat", "openat2", "creat"):
                flags = args[1] if call == "open" else (args[2] if len(args) > 2 else "")
                if call != "creat" and not any(f in flags for f in write_flags):
                    continue
                dirfd = fd_re.match(args[0]) if call != "open" and call != "creat" else None
                base = dirfd.group(1) if dirfd else cwd
                target = resolve(unquote(args[1] if call not in ("open", "creat") else args[0]), base)
                got = re.match(r"^<([^>]*)>", rest.strip())
                path = got.group(1) if ok and got else target
                if may_open_for_writing(path):
                    allowed_writes[path if not path.startswith("pipe:") else "pipe"] += 1
                elif ok:
                    violations.append(("file written/created", path, where))
                else:
                    attempts.append((path, where))
            elif call in file_calls:
                paths = []
                for i in file_calls[call]:
                    if i >= len(args):
                        continue
                    dirfd = fd_re.match(args[i - 1]) if call.endswith("at") or call == "renameat2" else None
                    paths.append(resolve(unquote(args[i]), dirfd.group(1) if dirfd else cwd))
                bad = [p for p in paths if not is_allowed(p)]
                if not bad:
                    continue
                if ok:
                    violations.append((f"{call}", " -> ".join(bad), where))
                else:
                    attempts.append((" -> ".join(bad), where))
            elif call in ("socket", "socketpair"):
                family = args[0] if args else "?"
                sockets[family] += 1
                if family in inet_families:
                    violations.append(("network socket", family, where))
            elif call in ("connect", "bind", "sendto", "sendmsg"):
                addr = m["args"]
                fam = re.search(r"sa_family=(AF_[A-Z0-9]+)", addr)
                if not fam:
                    continue  # sendto/sendmsg on a connected socket: its connect was checked
                family = fam.group(1)
                if family == "AF_NETLINK":
                    continue
                if family == "AF_UNIX":
                    sun = re.search(r'sun_path=(@?)"((?:[^"\\]|\\.)*)"', addr)
                    path = (sun.group(1) + sun.group(2)) if sun else "(unnamed)"
                    if is_allowed(path):
                        continue
                    target = f"unix socket {path}"
                else:
                    target = f"{family} " + " ".join(re.findall(r'inet6?_(?:addr|pton)\([^)]*\)|htons\(\d+\)', addr))
                if ok:
                    violations.append((call, target, where))
                else:
                    attempts.append((f"{call} {target}", where))

home_left = []
for root, dirs, names in os.walk(home):
    home_left += [os.path.join(root, n) for n in dirs + names]

print(f"privacy audit: {len(files)} threads/processes traced, {examined} file and network calls examined")
print(f"  counted as disk: everything but character devices, /proc, /sys, pipes and "
      + (", ".join(allowed) or "no --allow") + " (so /tmp, /dev/shm, /dev/mqueue and $HOME are disk)")
print(f"  writes allowed (devices, /proc, /sys, pipes, the allowed folders): "
      + (", ".join(f"{p} x{n}" for p, n in sorted(allowed_writes.items())) or "none"))
print(f"  sockets created: " + (", ".join(f"{f} x{n}" for f, n in sorted(sockets.items())) or "none"))
print(f"  programs started: " + (", ".join(f"{p} x{n}" for p, n in sorted(programs.items())) or "none"))
print(f"  writable+executable memory or exec-gain (MemoryDenyWriteExecute would refuse): {len(wx_maps)}"
      f" of {mmaps} mmap calls")
for where in wx_maps[:5]:
    print(f"    {where}")
print(f"  failed attempts (nothing written, not counted): {len(attempts)}")
for path, where in attempts[:20]:
    print(f"    {path}    {where}")
if home_left:
    violations.append(("left in the empty HOME", ", ".join(home_left[:5]), "after the run"))
print(f"  violations: {len(violations)}")
for kind, what, where in violations[:100]:
    print(f"    {kind}: {what}\n        {where}")
sys.exit(1 if violations else 0)
PY

echo "--- traced command: exit status $status; last lines of its stderr:"
tail -n 5 "$work/stderr" | sed 's/^/    /'
if [[ -s "$work/stdout" ]]; then
    echo "--- its stdout (first lines):"
    head -n 12 "$work/stdout" | sed 's/^/    /'
fi
if ((verdict != 0)); then
    echo "privacy audit: FAIL (files written or network used; see the violations above)"
    exit 1
fi
if ((status != 0)); then
    echo "privacy audit: FAIL (the traced command exited with status $status; nothing was proven)"
    exit 3
fi
echo "privacy audit: PASS (no file created, written, renamed or removed; no network)"
