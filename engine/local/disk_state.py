"""What the local target finds and tidies after a restart: the deployed functions
(`active.json`), workers and spares a dead control plane left (found by their marker and
cgroup, `engine.local.orphans`), deployment directories no worker uses.

Nothing here starts a process.
"""

from __future__ import annotations

import logging
import shutil

from engine.keys import nameable
from engine.local import active as active_file
from engine.local.active import CorruptActiveRecordError
from engine.local.layout import DEPLOYMENT_PREFIX, Layout, deployment_name
from engine.local.logbook import LogBook
from engine.local.orphans import OrphanKiller
from engine.local.slot import Slot
from engine.local.supervisor import Supervisor

log = logging.getLogger(__name__)


class DiskState:
    def __init__(self, layout: Layout, supervisor: Supervisor, killer: OrphanKiller) -> None:
        self.layout = layout
        self._sup = supervisor
        self._killer = killer

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

    def kill_orphans(self, key: str | None = None) -> list[str]:
        """Kill this data dir's workers (only `key`'s, if given) that this control plane does
        not run: a dead one's, or one started an instant before its crash."""
        return self._killer.kill(self._live_workers(), key)

    def fill_spares(self) -> None:
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

    def _live_workers(self) -> set[str]:
        """Worker ids of every worker and spare this control plane runs."""
        live: set[str | None] = set()
        for pool in self._sup.spares.values():
            live |= pool.worker_ids()
        for slot in list(self._sup.slots.values()):
            with slot.lock:
                workers = [d.worker for d in slot.draining] + [slot.worker]
                live.update(w.worker_id for w in workers if w is not None)
        live.update(self._sup.starting)
        return {w for w in live if w is not None}
