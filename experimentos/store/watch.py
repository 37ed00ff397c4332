"""Cheap answers to "did any page file change since I last looked?" for long-lived processes.

On Linux the kernel tells us (inotify): asking costs one non-blocking read, and an event is
queued before the writer's syscall returns, so a change made before a request is always seen
by that request. Elsewhere, or when inotify is unavailable, a stat fingerprint of the page
directories is compared instead (one stat per file).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import struct
import sys
from pathlib import Path

from experimentos.config import CONFIG_NAME
from experimentos.store.paths import KNOWLEDGE_ROOTS, PAGE_DIRS

# inotify(7) constants
_IN_MODIFY = 0x00000002
_IN_ATTRIB = 0x00000004
_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_FROM = 0x00000040
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_DELETE = 0x00000200
_IN_DELETE_SELF = 0x00000400
_IN_MOVE_SELF = 0x00000800
_IN_Q_OVERFLOW = 0x00004000
_IN_ISDIR = 0x40000000
_IN_IGNORED = 0x00008000
_IN_NONBLOCK = 0o4000
_IN_CLOEXEC = 0o2000000
_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
)
_EVENT = struct.Struct("iIII")

# What matters at each level: the config and the knowledge roots at the top, page dirs below.
_TOP_NAMES = {CONFIG_NAME, *KNOWLEDGE_ROOTS}


def _watched_dirs(root: Path) -> list[Path]:
    dirs = {root, *(root / top for top in KNOWLEDGE_ROOTS), *(root / d for d in PAGE_DIRS)}
    return sorted(dirs)


class ChangeWatcher:
    """`changed()` is True on the first call and whenever a page file or the config may have
    changed since the previous call. It may say True without a change, never False after one.

    After a call, `changed_files` holds the root-relative page paths the kernel named since the
    previous call, or None when that is not known (the first call, the stat fallback, a queue
    overflow, anything outside the page directories): then the caller rescans everything."""

    def __init__(self, root: Path, *, use_inotify: bool = True):
        self.root = Path(root)
        self._fd: int | None = None
        self._libc = None
        self._watches: dict[int, Path] = {}
        self._fingerprint: tuple | None = None
        self._first = True
        self.changed_files: set[str] | None = None
        if use_inotify and sys.platform.startswith("linux"):
            self._start_inotify()

    @property
    def mode(self) -> str:
        return "inotify" if self._fd is not None else "stat"

    def changed(self) -> bool:
        self.changed_files = set()
        if self._fd is not None:
            changed = self._drain()
        else:
            fingerprint = self._stat_fingerprint()
            changed = fingerprint != self._fingerprint
            self._fingerprint = fingerprint
            self.changed_files = None
        if self._first:
            self._first = False
            self.changed_files = None
            return True
        return changed

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        with contextlib.suppress(Exception):
            self.close()

    # --- inotify ------------------------------------------------------------------------------

    def _start_inotify(self) -> None:
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            return
        self._libc, self._fd = libc, fd
        self._add_watches()

    def _add_watches(self) -> None:
        """Watch every directory that exists; missing ones are picked up when their parent
        reports them created. Re-adding an existing watch is harmless (same descriptor)."""
        for directory in _watched_dirs(self.root):
            if not directory.is_dir():
                continue
            wd = self._libc.inotify_add_watch(self._fd, os.fsencode(directory), _MASK)
            if wd < 0:  # e.g. the watch limit is reached: fall back to stat fingerprints
                self.close()
                self._fingerprint = None
                return
            self._watches[wd] = directory

    def _drain(self) -> bool:
        changed = False
        rewatch = False
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                self.close()
                self.changed_files = None
                return True
            if not data:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                raw = data[offset + _EVENT.size : offset + _EVENT.size + length]
                offset += _EVENT.size + length
                name = raw.rstrip(b"\0").decode("utf-8", "surrogateescape")
                if mask & _IN_Q_OVERFLOW:
                    changed = rewatch = True
                    self.changed_files = None
                    continue
                if mask & (_IN_IGNORED | _IN_DELETE_SELF | _IN_MOVE_SELF):
                    self._watches.pop(wd, None)
                    changed = rewatch = True
                    self.changed_files = None
                    continue
                directory = self._watches.get(wd)
                if directory is None:
                    continue
                if self._relevant(directory, name):
                    changed = True
                    self._note(directory, name, mask)
                    if mask & (_IN_CREATE | _IN_MOVED_TO):
                        rewatch = True
        if rewatch and self._fd is not None:
            self._add_watches()
        return changed

    def _note(self, directory: Path, name: str, mask: int) -> None:
        """Remember which page file an event names; anything else makes the set unknown."""
        if self.changed_files is None:
            return
        rel = directory.relative_to(self.root).as_posix() if directory != self.root else ""
        if rel in PAGE_DIRS and not mask & _IN_ISDIR and name.endswith(".md"):
            self.changed_files.add(f"{rel}/{name}")
        else:
            self.changed_files = None

    def _relevant(self, directory: Path, name: str) -> bool:
        if directory == self.root:
            return name in _TOP_NAMES
        if directory.name in KNOWLEDGE_ROOTS and directory.parent == self.root:
            return True  # a page directory came or went, or a stray file: let the reload decide
        return True

    # --- stat fallback ------------------------------------------------------------------------

    def _stat_fingerprint(self) -> tuple:
        parts: list[tuple] = []
        try:
            st = os.stat(self.root / CONFIG_NAME)
            parts.append((CONFIG_NAME, st.st_mtime_ns, st.st_size))
        except OSError:
            parts.append((CONFIG_NAME, None))
        for directory in sorted(PAGE_DIRS):
            try:
                entries = list(os.scandir(self.root / directory))
            except OSError:
                parts.append((directory, None))
                continue
            for entry in entries:
                try:
                    st = entry.stat()
                except OSError:
                    continue
                parts.append((directory, entry.name, st.st_mtime_ns, st.st_size, st.st_ino))
        parts.sort(key=repr)
        return tuple(parts)
