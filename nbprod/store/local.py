"""A store in a local folder: the embedded default.

Removals are atomic here: the folder is renamed to a hidden ``.deleting-<name>.<token>``
beside it (same folder, so same filesystem), the catalog forgets it, then the hidden copy
is deleted. Readers see the whole folder or nothing; a crash or an undeletable file leaves
only the hidden copy, which :meth:`LocalStore.finish_removal` completes.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from nbprod.errors import DeleteRefused, InvalidName, StoreUnavailable
from nbprod.store.base import Entry, Forget, Item, Kind, Removal, Store, check_key

TRASH = ".deleting-"
_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL = 0x10
_FS_APPEND_FL = 0x20


class LocalStore(Store):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidName(f"store key {key!r} points outside the store root")
        return path

    def _put(self, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Not mkstemp: its 0600 mode would hide a shared store from its other readers;
            # os.open with 0o666 honours the umask as any other file the user writes.
            tmp = str(path.parent / f".tmp-{secrets.token_hex(8)}{path.suffix}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)  # no half-written leftovers
            raise StoreUnavailable(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[Entry]:
        folder = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for child in children:
            if child.name.startswith((".tmp-", TRASH)):
                continue
            if child.is_dir():
                yield Entry(child.name, True)
                continue
            try:
                size = child.stat().st_size
            except FileNotFoundError:
                continue  # a dangling symlink, or removed since the scan
            yield Entry(child.name, False, size)

    def delete(self, key: str) -> None:
        # The folder is resolved (and must be inside the root); the name itself is not: a
        # link is removed as a link, its target is left alone.
        parent, _, name = check_key(key).rpartition("/")
        folder = self._path(parent) if parent else self.root
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot delete {folder / name}: {exc.strerror}") from exc

    # -- removals ---------------------------------------------------------------------

    def _refuse(self, prefix: str, why: str) -> DeleteRefused:
        return DeleteRefused(f"cannot delete {prefix}: {why}; nothing was deleted")

    def plan_removal(self, prefix: str, first: tuple[str, ...] = ()) -> Removal:
        key = check_key(prefix.strip("/"))
        folder = self.root
        *parents, name = key.split("/")
        for part in parents:  # every folder on the way must be a real one, not a link
            folder = folder / part
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                return Removal(key)
            except OSError as exc:
                raise self._refuse(key, f"cannot inspect {folder}: {exc.strerror}") from exc
            if stat.S_ISLNK(mode):
                raise self._refuse(key, f"{folder} is a link (deleting never follows links)")
            if not stat.S_ISDIR(mode):
                return Removal(key)
        try:
            device = os.lstat(folder).st_dev
        except OSError as exc:
            raise self._refuse(key, f"cannot inspect {folder}: {exc.strerror}") from exc
        items: list[Item] = []
        self._walk(key, folder / name, key, device, items)
        if items and not os.access(folder, os.W_OK | os.X_OK):
            raise self._refuse(key, f"{folder} is not writable")
        return Removal(key, items, list(first))

    def _walk(self, prefix: str, path: Path, key: str, device: int, items: list[Item]) -> None:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._refuse(prefix, f"cannot inspect {path}: {exc.strerror}") from exc
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            items.append(Item(key, Kind.LINK))
            return
        if info.st_dev != device:
            raise self._refuse(prefix, f"{path} is on another filesystem (a mount point)")
        if (stat.S_ISREG(mode) or stat.S_ISDIR(mode)) and _undeletable(path, info):
            raise self._refuse(prefix, f"{path} is immutable or append-only (chattr)")
        if not stat.S_ISDIR(mode):
            kind = Kind.FILE if stat.S_ISREG(mode) else Kind.OTHER
            items.append(Item(key, kind, info.st_size if kind is Kind.FILE else None))
            return
        items.append(Item(key, Kind.DIR))
        try:
            names = sorted(os.listdir(path))
        except OSError as exc:
            raise self._refuse(prefix, f"cannot list {path}: {exc.strerror}") from exc
        if names and not os.access(path, os.W_OK | os.X_OK):
            raise self._refuse(prefix, f"{path} is not writable")
        for child in names:
            self._walk(prefix, path / child, f"{key}/{child}", device, items)

    def remove(self, removal: Removal, forget: Forget) -> list[str]:
        if not removal.items:
            forget()  # already gone from the store: only the catalog's rows are left
            return []
        top = self.root / removal.prefix
        trash = top.with_name(f"{TRASH}{top.name}.{secrets.token_hex(4)}")
        try:
            os.rename(top, trash)  # the one step that makes the folder disappear, whole
        except FileNotFoundError:
            forget()
            return []
        except OSError as exc:
            raise self._refuse(removal.prefix, f"{top}: {exc.strerror}") from exc
        try:
            forget()
        except BaseException:
            try:
                os.rename(trash, top)  # the catalog still lists it: so must the store
            except OSError:
                pass  # left hidden: finish_removal completes it (and forgets it) later
            raise
        return _purge(trash)

    def _trash_of(self, job_folder: Path) -> list[Path]:
        try:
            return sorted(p for p in job_folder.iterdir() if p.name.startswith(TRASH))
        except OSError:
            return []

    def unfinished_removals(self) -> list[str]:
        found: set[str] = set()
        try:
            folders = [p for p in self.root.iterdir() if not p.name.startswith(".")]
        except OSError:
            return []
        for folder in folders:
            if folder.is_symlink() or not folder.is_dir():
                continue
            for trash in self._trash_of(folder):
                name = trash.name[len(TRASH) :].rpartition(".")[0]
                if name:
                    found.add(f"{folder.name}/{name}")
        return sorted(found)

    def finish_removal(self, prefix: str, forget: Forget, first: tuple[str, ...] = ()) -> list[str]:
        key = check_key(prefix.strip("/"))
        parent, _, name = key.rpartition("/")
        folder = self.root / parent if parent else self.root
        forget()
        problems: list[str] = []
        for trash in self._trash_of(folder):
            if trash.name.startswith(f"{TRASH}{name}."):
                problems += _purge(trash)
        return problems

    def location(self, key: str) -> str:
        return str(self._path(key))


def _undeletable(path: Path, info: os.stat_result) -> bool:
    """Immutable or append-only (chattr +i/+a, which stop root too): unlink would fail.

    Only regular files and folders are opened (opening a device can have effects).
    """
    flags = getattr(info, "st_flags", None)  # BSD, macOS
    if flags is not None:
        return bool(
            flags & (stat.UF_IMMUTABLE | stat.SF_IMMUTABLE | stat.UF_APPEND | stat.SF_APPEND)
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_NOCTTY)
    except OSError:
        return False  # not openable (a socket, no permission): unlink will tell
    try:
        value = fcntl.ioctl(fd, _FS_IOC_GETFLAGS, b"\0" * 8)
    except OSError:
        return False  # the filesystem has no such flags
    finally:
        os.close(fd)
    return bool(int.from_bytes(value[:4], "little") & (_FS_IMMUTABLE_FL | _FS_APPEND_FL))


def _purge(path: Path) -> list[str]:
    """Delete a tree without following links; one line per thing that would not go."""
    problems: list[str] = []
    _remove_tree(path, problems, None)
    return problems


def _remove_tree(path: Path, problems: list[str], device: int | None) -> None:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror}")
        return
    if stat.S_ISDIR(info.st_mode):
        if device is not None and info.st_dev != device:
            problems.append(f"{path}: a mount point, not descended into")
            return
        before = len(problems)
        try:
            names = os.listdir(path)
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror}")
            return
        for name in names:
            _remove_tree(path / name, problems, info.st_dev)
        try:
            os.rmdir(path)
        except OSError as exc:
            if len(problems) == before:  # else the cause is already reported
                problems.append(f"{path}: {exc.strerror}")
        return
    try:
        os.unlink(path)  # a file, a link (never followed) or a special file
    except FileNotFoundError:
        pass
    except OSError as exc:
        problems.append(f"{path}: {exc.strerror}")
