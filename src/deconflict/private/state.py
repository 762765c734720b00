"""The client's local secret state directory (``--state DIR``), on the party's own machine.

Layout (directories 0700, files 0600, every write atomic)::

    DIR/keys.json                     the party's box + sign secret keys
    DIR/pins.json                     per agreement: the counterpart's pinned public keys and
                                      the highest epoch seen from it (replay detection)
    DIR/agreements/<id>/state.json    epoch, PSI secret, grid, digest, own volume keys
    DIR/agreements/<id>/cells.npz     own cells, the cell->volume membership, blinded order
    DIR/agreements/<id>/volumes.json  own volumes (volume JSON), for reveals

Nothing here ever leaves the machine except what :mod:`deconflict.private.client` derives.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from deconflict.errors import InvalidInputError
from deconflict.private.cells import Cells
from deconflict.private.protocol import IntegrityError, PartyKeys, PublicKeys

_SAFE_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def safe_id(value: Any, field: str = "agreement") -> str:
    """An id safe as a directory name (the relay is not trusted to send one)."""
    if not isinstance(value, str) or not _SAFE_ID.match(value):
        raise IntegrityError(f"the relay sent a malformed {field} id")
    return value


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


class StateDir:
    """Access to a state directory (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInputError(
                field="--state", reason=f"cannot create {root}: {exc}"
            ) from None
        if not root.is_dir():
            raise InvalidInputError(field="--state", reason=f"{root} is not a directory")

    # ------------------------------------------------------------------------------ keys
    def keys(self) -> PartyKeys:
        """The party's keys (generated on first use)."""
        path = self.root / "keys.json"
        if path.exists():
            return PartyKeys.from_secret_json(json.loads(path.read_text(encoding="utf-8")))
        keys = PartyKeys.generate()
        _write(path, json.dumps(keys.secret_json()).encode())
        return keys

    def pin(self, agreement: str, keys: PublicKeys) -> None:
        """Pin the counterpart's keys for ``agreement`` (first use) or check them.

        Raises
        ------
        IntegrityError
            The relay presents different keys than those pinned.
        """
        pins = self._pins()
        entry = pins.get(agreement)
        if entry is None:
            pins[agreement] = {**keys.to_json(), "last_epoch": 0}
            self._save_pins(pins)
            return
        if PublicKeys.from_json(entry) != keys:
            pinned = PublicKeys.from_json(entry).fingerprint
            raise IntegrityError(
                f"agreement {agreement}: the relay presents new counterpart keys (fingerprint "
                f"{keys.fingerprint}); the pinned ones are {pinned}"
            )

    def last_epoch(self, agreement: str) -> int:
        """Highest counterpart epoch seen for ``agreement``."""
        return int(self._pins().get(agreement, {}).get("last_epoch", 0))

    def see_epoch(self, agreement: str, epoch: int) -> None:
        """Record a counterpart epoch as seen."""
        pins = self._pins()
        if agreement in pins:
            pins[agreement]["last_epoch"] = max(epoch, int(pins[agreement].get("last_epoch", 0)))
            self._save_pins(pins)

    def _pins(self) -> dict[str, dict[str, Any]]:
        path = self.root / "pins.json"
        if not path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _save_pins(self, pins: dict[str, dict[str, Any]]) -> None:
        _write(self.root / "pins.json", json.dumps(pins, sort_keys=True).encode())

    # ------------------------------------------------------------------------ agreements
    def agreement_dir(self, agreement: str) -> Path:
        """``DIR/agreements/<id>`` (created)."""
        path = self.root / "agreements" / safe_id(agreement)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def agreements(self) -> list[str]:
        """Agreements with a pushed epoch."""
        base = self.root / "agreements"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "state.json").exists())

    def save_epoch(
        self,
        agreement: str,
        meta: dict[str, Any],
        cells: Cells,
        member_cell: npt.NDArray[np.int64],
        member_volume: npt.NDArray[np.int64],
        origin: npt.NDArray[np.int64],
        values: bytes,
        volumes: dict[str, Any],
    ) -> None:
        """Store one pushed epoch (replaces the previous one)."""
        path = self.agreement_dir(agreement)
        tmp = path / "cells.tmp.npz"
        np.savez(
            tmp,
            h3=cells.h3,
            slot=cells.slot,
            layer=cells.layer,
            member_cell=member_cell,
            member_volume=member_volume,
            origin=origin,
            values=np.frombuffer(values, dtype=np.uint8),
        )
        os.chmod(tmp, 0o600)
        os.replace(tmp, path / "cells.npz")
        _write(path / "volumes.json", json.dumps(volumes).encode())
        _write(path / "state.json", json.dumps(meta, sort_keys=True).encode())

    def load_epoch(self, agreement: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(meta, arrays, volumes) of the last pushed epoch."""
        path = self.agreement_dir(agreement)
        meta: dict[str, Any] = json.loads((path / "state.json").read_text(encoding="utf-8"))
        with np.load(path / "cells.npz") as data:
            arrays = {k: data[k] for k in data.files}
        volumes: dict[str, Any] = json.loads((path / "volumes.json").read_text(encoding="utf-8"))
        return meta, arrays, volumes

    def cached_answer(self, agreement: str, epoch: int, their_digest: str) -> bytes | None:
        """Our double-blinding of the counterpart's set ``their_digest`` in our ``epoch``."""
        path = self.agreement_dir(agreement) / "answer.bin"
        meta = self.agreement_dir(agreement) / "answer.json"
        if not path.exists() or not meta.exists():
            return None
        key = json.loads(meta.read_text(encoding="utf-8"))
        if key != {"epoch": epoch, "digest": their_digest}:
            return None
        return path.read_bytes()

    def cache_answer(self, agreement: str, epoch: int, their_digest: str, values: bytes) -> None:
        """Remember our answer to the counterpart's set (a re-sync need not recompute it)."""
        _write(self.agreement_dir(agreement) / "answer.bin", values)
        _write(
            self.agreement_dir(agreement) / "answer.json",
            json.dumps({"epoch": epoch, "digest": their_digest}).encode(),
        )

    def revealed(self, agreement: str) -> dict[str, Any] | None:
        """The last reveal sent for ``agreement``: ``{"epoch", "cell_slots"}`` or None."""
        path = self.agreement_dir(agreement) / "revealed.json"
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def mark_revealed(self, agreement: str, epoch: int, cell_slots: int) -> None:
        """Remember a reveal sent (sending the same one again costs no budget)."""
        _write(
            self.agreement_dir(agreement) / "revealed.json",
            json.dumps({"epoch": epoch, "cell_slots": cell_slots}).encode(),
        )
