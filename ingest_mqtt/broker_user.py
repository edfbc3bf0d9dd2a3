"""The user Mosquitto runs as, and whether it can reach the files it loads.

Mosquitto started as root switches to its own user (``mosquitto`` unless configured)
once it has read its configuration file, before it loads the TLS key and certificate,
the password files and the ACL, and it reads them all again on SIGHUP as that user. A
file that user cannot read stops the broker at start, or silently keeps the old one on
reload. The check below follows the POSIX permission rules (owner bits for the owner,
group bits for a member of the file's group, the rest for others) along every directory
on the way; ACLs and capabilities are not looked at.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

READ = 0o4
ENTER = 0o1


@dataclass(frozen=True)
class BrokerUser:
    """A system user and the groups it belongs to."""

    name: str
    uid: int
    gid: int
    groups: frozenset[int]


def lookup(name: str) -> BrokerUser | None:
    """The system user called ``name``, or None if there is none."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    groups = frozenset(os.getgrouplist(name, entry.pw_gid))
    return BrokerUser(name, entry.pw_uid, entry.pw_gid, groups)


def _allowed(found: os.stat_result, user: BrokerUser, access: int) -> bool:
    if user.uid == 0:
        return True
    if found.st_uid == user.uid:
        shift = 6
    elif found.st_gid in user.groups:
        shift = 3
    else:
        shift = 0
    return stat.S_IMODE(found.st_mode) & (access << shift) == access << shift


def blocked(path: Path, user: BrokerUser) -> Path | None:
    """The first directory on the way to ``path`` that ``user`` cannot enter, or ``path``
    itself if it is a file the user cannot read; None when the user can get there.

    Parts that do not exist yet are not judged (they will be created).
    """
    path = path.resolve()
    for directory in (*reversed(path.parents), path):
        if not directory.exists():
            return None
        found = directory.stat()
        access = ENTER if stat.S_ISDIR(found.st_mode) else READ
        if not _allowed(found, user, access):
            return directory
    return None
