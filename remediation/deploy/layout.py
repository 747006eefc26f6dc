"""Where a deploy puts things on a host: Capistrano's layout, proven for 15 years.

    DEPLOY_TO/releases/<UTC time>-<short sha>/   a commit's tree, made whole under a temp name
    DEPLOY_TO/releases/<id>/.venv -> ../../venvs/<hash>
    DEPLOY_TO/shared/                            env file (0600), media, logs, static, backups
    DEPLOY_TO/venvs/<requirements hash>/         immutable once complete, shared by releases
    DEPLOY_TO/current -> releases/<id>           switched by renaming a new symlink over it
    DEPLOY_TO/.deploy/                           the lock and the deploy's own records

Pure: names and paths only, nothing here touches a host.
"""

from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass

RELEASE_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{7,40}$")
TEMP_PREFIX = ".tmp-"
RELEASE_RECORD = ".release.json"  # inside each release: commit, time, who, status
VENV_LINK = ".venv"
ENV_FILE = ".env"  # shared/.env: the production env of every release


def release_id(short_sha: str, now: float | None = None) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + short_sha


@dataclass(frozen=True)
class Layout:
    deploy_to: str

    def _join(self, *parts: str) -> str:
        return posixpath.join(self.deploy_to, *parts)

    @property
    def releases(self) -> str:
        return self._join("releases")

    @property
    def shared(self) -> str:
        return self._join("shared")

    @property
    def venvs(self) -> str:
        return self._join("venvs")

    @property
    def current(self) -> str:
        return self._join("current")

    @property
    def state(self) -> str:
        return self._join(".deploy")

    @property
    def lock(self) -> str:
        return self._join(".deploy", "lock")

    @property
    def env_file(self) -> str:
        return self._join("shared", ENV_FILE)

    @property
    def backups(self) -> str:
        return self._join("shared", "backups")

    @property
    def static(self) -> str:
        return self._join("shared", "static")

    @property
    def media(self) -> str:
        return self._join("shared", "media")

    @property
    def logs(self) -> str:
        return self._join("shared", "log")

    @property
    def bin(self) -> str:
        return self._join("bin")

    def release(self, rid: str) -> str:
        return self._join("releases", rid)

    def release_temp(self, rid: str) -> str:
        return self._join("releases", TEMP_PREFIX + rid)

    def record(self, rid: str) -> str:
        return self._join("releases", rid, RELEASE_RECORD)

    def venv(self, digest: str) -> str:
        return self._join("venvs", digest)

    def venv_temp(self, digest: str) -> str:
        return self._join("venvs", TEMP_PREFIX + digest)

    def current_python(self) -> str:
        """The interpreter of whatever release is live, through ``current`` (resolved at each start)."""
        return self._join("current", VENV_LINK, "bin", "python")

    def release_python(self, rid: str) -> str:
        return self._join("releases", rid, VENV_LINK, "bin", "python")
