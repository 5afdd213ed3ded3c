"""What the local target finds on disk and tidies: the deployed functions (`active.json`),
workers and spares a dead control plane left (pid files), deployment directories no worker uses.

Everything here reads or removes files of `<data_dir>/local/`; it never starts a process.
"""

from __future__ import annotations

import logging
import shutil

from engine.keys import nameable
from engine.local import active as active_file
from engine.local import process
from engine.local.active import CorruptActiveRecordError
from engine.local.layout import DEPLOYMENT_PREFIX, Layout, deployment_name
from engine.local.logbook import LogBook
from engine.local.slot import Slot
from engine.local.supervisor import Supervisor
from engine.target import ProgressSink

log = logging.getLogger(__name__)


class DiskState:
    def __init__(self, layout: Layout, supervisor: Supervisor) -> None:
        self.layout = layout
        self._sup = supervisor

    def function_keys(self) -> list[str]:
        functions = self.layout.functions
        found = sorted(functions.iterdir()) if functions.exists() else []
        return [d.name for d in found if d.is_dir() and nameable(d.name)]

    def load_active(self) -> None:
        """A slot for every deployed function not known yet (its worker starts on demand)."""
        for key in self.function_keys():
            if key in self._sup.slots:
                continue
            try:
                record = active_file.load(self.layout.active_file(key))
            except CorruptActiveRecordError as exc:
                log.warning("ignoring the local state of %s: %s", key, exc)
                continue
            if record is not None:
                slot = Slot(key, LogBook(self.layout.log_file(key)), active=record)
                self._sup.slots.setdefault(key, slot)

    def kill_orphans(self, key: str, *, keep_live: bool) -> list[str]:
        """Kill the workers the function's pid files name (but its live ones, if asked)."""
        pid_dir = self.layout.pid_dir(key)
        if not pid_dir.exists():
            return []
        keep = self._live_pids(key) if keep_live else set()
        return [
            process.kill_orphan(pid_file)
            for pid_file in sorted(pid_dir.glob("*.json"))
            if pid_file.stem.isdigit() and int(pid_file.stem) not in keep
        ]

    def kill_orphan_spares(self, progress: ProgressSink) -> None:
        own = {pool.pid() for pool in self._sup.spares.values()}
        for pid_file in sorted(self.layout.spares.glob("*.json")):
            if not pid_file.stem.isdigit() or int(pid_file.stem) not in own:
                progress(f"spare: {process.kill_orphan(pid_file)}")
        deployed = {s.active.spec.runtime for s in self._sup.slots.values() if s.active}
        for runtime in deployed & set(self._sup.spares):
            self._sup.spares[runtime].fill()

    def prune_deployments(self, key: str) -> list[str]:
        """Remove deployment directories no worker uses and that are not active."""
        slot = self._sup.slots.get(key)
        keep: set[str] = set()
        if slot is not None:
            with slot.lock:
                if slot.active is not None:
                    keep.add(deployment_name(slot.active.spec.spec_hash))
                keep.update(d.worker.deployment for d in slot.draining)
                if slot.worker is not None:
                    keep.add(slot.worker.deployment)
        removed = []
        for path in self.layout.function_dir(key).glob(f"*{DEPLOYMENT_PREFIX}*"):
            if path.is_dir() and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
        return removed

    def _live_pids(self, key: str) -> set[int]:
        slot = self._sup.slots.get(key)
        if slot is None:
            return set()
        with slot.lock:
            workers = [d.worker for d in slot.draining] + ([slot.worker] if slot.worker else [])
            return {w.pid for w in workers}
