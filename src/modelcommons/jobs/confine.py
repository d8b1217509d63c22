"""Confining a job's child to its own folder with Linux Landlock (unprivileged, kernel 5.13+).

After `confine(folder)` the process, and all it starts, may write only inside `folder`, and
read only there, in the system's and Python's own folders (programs, libraries, packages,
/etc, /proc, /sys, /dev): not the hub's home, its database or store, nor another job's
folder. Where the kernel has no Landlock, the child runs unconfined and says so.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same number on every arch
RULESET_VERSION = 1  # landlock_create_ruleset flag: ask the ABI version
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
EVERY_V1 = (1 << 13) - 1  # execute ... make_sym: the rights of Landlock's first ABI
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2 and 3
REMOVE_FILE, MAKE_REG = 1 << 5, 1 << 8
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE  # all a rule on a file may grant
SHARED_MEMORY = READ_FILE | WRITE_FILE | READ_DIR | REMOVE_FILE | MAKE_REG | TRUNCATE
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/sys")
# Of /etc, only what libraries read (certificates, name resolution, time zone, the dynamic
# loader): never all of it, where a hub's environment file may live. Some are links
# elsewhere (/run/systemd/...), so their targets are resolved.
ETC = (
    "ssl", "ca-certificates", "pki", "crypto-policies", "resolv.conf", "hosts",
    "nsswitch.conf", "host.conf", "gai.conf", "localtime", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "passwd", "group", "mime.types", "os-release", "protocols", "services",
)  # fmt: skip
# Of /proc, the machine's figures and this process's own folder: never other processes',
# whose environ holds the worker's and the server's secrets.
PROC = ("self", "cpuinfo", "meminfo", "stat", "loadavg", "filesystems", "version", "sys")
Syscall = Callable[..., int]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall() -> Syscall:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall


def _abi() -> int:
    """Landlock's ABI version, or 0 where the kernel has none (or it is turned off)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _syscall()(CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(RULESET_VERSION))
    if version < 0 and ctypes.get_errno() in (errno.ENOSYS, errno.EOPNOTSUPP):
        return 0
    return max(0, int(version))


def readable_paths() -> list[Path]:
    """Where a job's Python, its libraries and the system's files are."""
    python = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
    system = [*SYSTEM, *(f"/etc/{name}" for name in ETC), *(f"/proc/{name}" for name in PROC)]
    return sorted(
        {Path(os.path.realpath(p)) for p in [*system, *python] if p and os.path.exists(p)}
    )


def confine(folder: Path) -> bool:
    """Restrict this process to `folder` (see the module's docstring). True if confined."""
    abi = _abi()
    if abi == 0:
        return False
    handled = EVERY_V1 | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0)
    syscall = _syscall()
    attr = ctypes.c_uint64(handled)  # struct landlock_ruleset_attr, its first field only
    ruleset = syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for path in readable_paths():
            _allow(syscall, int(ruleset), path, EXECUTE | READ_FILE | READ_DIR)
        _allow(syscall, int(ruleset), Path("/dev"), READ_FILE | WRITE_FILE | READ_DIR)
        # Semaphores of multiprocessing (joblib, torch) are files here, unlinked once made.
        _allow(syscall, int(ruleset), Path("/dev/shm"), handled & SHARED_MEMORY)
        _allow(syscall, int(ruleset), folder, handled)
        if ctypes.CDLL(None).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError("prctl(PR_SET_NO_NEW_PRIVS) failed")
        if syscall(RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(int(ruleset))
    return True


def _allow(syscall: Syscall, ruleset: int, path: Path, access: int) -> None:
    if not path.exists():
        return
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rights = access & FILE_RIGHTS if not path.is_dir() else access
        rule = _PathBeneath(rights, fd)
        done = syscall(
            ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule), 0
        )
        if done != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
