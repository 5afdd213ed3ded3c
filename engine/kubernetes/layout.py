"""Where the Kubernetes target keeps Pulumi things on disk: pure path arithmetic.

```
<data_dir>/pulumi/
  state/                      the default file backend (file://…/state)
    .pulumi/stacks/lambdaclone-functions/lambdaclone-fn-<key>.json
    .pulumi/locks/organization/lambdaclone-functions/lambdaclone-fn-<key>/<id>.json
  home/                       PULUMI_HOME (plugins, workspaces/<project>-<sha1>-…json,
                              logs/<org>+<project>+<stack>-<time>.log: the CLI's own logs)
  admin/                      a workspace for project-wide commands (stack ls, base outputs)
  workspaces/<key>/           one persistent workspace per function stack:
    Pulumi.yaml               the project (name, runtime, backend)
    Pulumi.lambdaclone-fn-<key>.yaml   stack config: secrets salt, appliedHash
    intent.json               the operation in progress (apply + spec, or destroy)
```
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from engine.kubernetes import names
from engine.settings import Settings

FILE_SCHEME = "file"
DIY_ORG = "organization"
"""The organization name the file backend uses in its lock paths."""


@dataclass(frozen=True)
class PulumiLayout:
    root: Path
    backend_url: str
    home: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> PulumiLayout:
        root = settings.data_dir / "pulumi"
        backend = settings.pulumi_backend_url or f"file://{root / 'state'}"
        return cls(root=root, backend_url=backend, home=settings.pulumi_home or root / "home")

    @property
    def workspaces(self) -> Path:
        return self.root / "workspaces"

    @property
    def admin(self) -> Path:
        return self.root / "admin"

    def workspace(self, key: str) -> Path:
        return self.workspaces / names.check_key(key)

    def home_workspace_file(self, key: str) -> Path:
        """The CLI's record of the stack selected in a workspace: `$PULUMI_HOME/workspaces/
        <project>-<sha1 of the Pulumi.yaml path>-workspace.json`, one per function."""
        project_file = str(self.workspace(key).absolute() / "Pulumi.yaml")
        digest = hashlib.sha1(project_file.encode(), usedforsecurity=False).hexdigest()
        return self.home / "workspaces" / f"{names.PROJECT}-{digest}-workspace.json"

    @property
    def logs_dir(self) -> Path:
        """The CLI's automatic logs (one file per command, kept for days by its rotation)."""
        return self.home / "logs"

    def is_stack_log(self, key: str, filename: str) -> bool:
        """A log file the CLI wrote for this function's stack:
        `<org>+<project>+<stack>-<time>[-<update id>].log` (the stack's name is in it, so
        deleting the function deletes them too)."""
        stack = re.escape(names.stack_name(key))
        pattern = rf"[^+]+\+{re.escape(names.PROJECT)}\+{stack}-\d{{8}}T\d{{6}}(-[^.]*)?\.log"
        return re.fullmatch(pattern, filename) is not None

    def intent_file(self, key: str) -> Path:
        return self.workspace(key) / "intent.json"

    def stack_config_file(self, key: str) -> Path:
        """Written by `pulumi stack init` (the secrets salt): the stack exists once it does."""
        return self.workspace(key) / f"Pulumi.{names.stack_name(key)}.yaml"

    @property
    def backend_dir(self) -> Path | None:
        """The file backend's directory; None for any other backend."""
        url = urlparse(self.backend_url)
        if url.scheme != FILE_SCHEME:
            return None
        return Path(unquote(url.netloc + url.path)).expanduser()

    def bookkeeping(self) -> Path | None:
        base = self.backend_dir
        return base / ".pulumi" if base else None

    def lock_root(self) -> Path | None:
        book = self.bookkeeping()
        return book / "locks" / DIY_ORG / names.PROJECT if book else None

    def lock_dir(self, key: str) -> Path | None:
        root = self.lock_root()
        return root / names.stack_name(key) if root else None

    def stack_leftovers(self, key: str) -> list[Path]:
        """What the file backend keeps after `pulumi stack rm`: backups, history, lock dir."""
        book = self.bookkeeping()
        if book is None:
            return []
        stack = names.stack_name(key)
        stacks = book / "stacks" / names.PROJECT
        return [
            book / "backups" / names.PROJECT / stack,
            book / "history" / names.PROJECT / stack,
            book / "locks" / DIY_ORG / names.PROJECT / stack,
            *(stacks / f"{stack}{suffix}" for suffix in _STATE_SUFFIXES),
        ]


_STATE_SUFFIXES = (".json.bak", ".json.bak.attrs", ".json.attrs", ".json.gz.bak", ".json.gz.attrs")
