"""Files the stages write and read: atomic writes (results, datasets, checkpoints, figures) and safe loads.

Every write goes to a temporary file in the target folder and is renamed over the target, so a failed or
killed run never leaves a half-written file; the temporary file is removed when the write fails, and the
result gets the usual 0644 mode. Loads never unpickle arbitrary objects (``weights_only=True``).

Every file a stage reads from another stage (a prepared dataset, results JSON, the tickets file, a
checkpoint) goes through ``read_json_file`` or ``read_torch_file``: a missing, unreadable, empty,
truncated, unparsable, wrong-type or wrong-shape file becomes one ``DataError`` line naming the file read
and what to do (which stage to re-run), so the stage stops with exit status 2 instead of a traceback.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from lth.errors import DataError

FILE_MODE = 0o644


def write_bytes_atomic(path: Path, write: Callable[[Any], None], text: bool = False) -> None:
    """Create ``path`` through ``write(handle)`` on a temporary file that is renamed over it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile("w" if text else "wb", dir=path.parent, delete=False, suffix=".tmp",
                                         prefix=f".{path.name}.")
    tmp = Path(handle.name)
    try:
        with handle:
            write(handle)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file atomically (report pages)."""
    write_bytes_atomic(path, lambda handle: handle.write(text), text=True)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON atomically, so a failed run never leaves a half-written result."""
    write_text_atomic(path, json.dumps(payload, indent=1, sort_keys=True, allow_nan=True) + "\n")


def save_torch_atomic(path: Path, payload: Any) -> None:
    """``torch.save`` atomically (datasets, checkpoints).

    Serialised in memory first: torch names the archive's records after the file it writes to, so saving
    to a randomly named temporary file would make identical data produce different bytes (and DVC would
    see a changed dataset on every run).
    """
    import torch
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, lambda handle: handle.write(buffer.getbuffer()))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (md5 to check originals against torchvision, sha256 to tie checkpoints
    to the exact data), read in 1 MiB blocks."""
    import hashlib
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_torch(source: Path | io.BytesIO, map_location: Any = "cpu") -> Any:
    """``torch.load`` of tensors and plain containers only (``weights_only=True``: nothing is unpickled)."""
    import torch
    return torch.load(source, map_location=map_location, weights_only=True)


# ------------------------------------------------------------------------------------ reading inputs
class ContentError(ValueError):
    """What is wrong inside a file that parsed (a missing key, a wrong type or shape), as one phrase; raised
    by a reader's ``expect`` check and turned into a ``DataError`` naming the file."""


def rerun(stage: str) -> str:
    """The usual remedy for a damaged or missing input: re-run the stage that writes it."""
    return f"run `dvc repro {stage}`, which writes it"


def producing_stage(path: Path) -> str | None:
    """The stage ``dvc.lock`` records as writing ``path`` (or a folder holding it), looked up in the
    nearest ``dvc.lock`` above the file; None when there is none or it does not name the file."""
    path = Path(os.path.abspath(path))
    lock = next((folder / "dvc.lock" for folder in path.parents if (folder / "dvc.lock").is_file()), None)
    if lock is None:
        return None
    try:
        import yaml
        stages = yaml.safe_load(lock.read_text()).get("stages", {})
        relative = path.relative_to(lock.parent).as_posix()
        for stage, entry in stages.items():
            for out in entry.get("outs", []):
                if relative == out["path"] or relative.startswith(out["path"].rstrip("/") + "/"):
                    return stage
    except Exception:   # noqa: BLE001 - a damaged lock file only costs the hint
        return None
    return None


class _Remedy:
    """What to do about a bad ``path``, worked out only when a message is written: looking the writing stage up
    in dvc.lock costs about a second, and the report reads a hundred good files."""

    def __init__(self, path: Path, produced_by: str | None, fix: str | None):
        self.path, self.produced_by, self.fix = path, produced_by, fix

    def __str__(self) -> str:
        if self.fix is not None:
            return str(self.fix)
        stage = self.produced_by or producing_stage(self.path)
        return rerun(stage) if stage else "re-run the stage that writes it (`dvc repro` re-runs what is out of date)"


def _require_file(path: Path, remedy: object) -> None:
    """A missing, unreadable (a folder, no permission) or empty file is a one-line DataError."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError(21, "a folder, not a file")
        with open(path, "rb"):
            pass
    except FileNotFoundError:
        raise DataError(f"{path}: missing; {remedy}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error}); {remedy}") from None
    if size == 0:
        raise DataError(f"{path}: empty (0 bytes: an interrupted write or copy?); {remedy}")


def _short(error: BaseException) -> str:
    """The first sentence of an error message, at most 100 characters (the one-line message's detail)."""
    text = str(error).split("WeightsUnpickler error:")[-1].strip()     # torch's own words after its preamble
    text = (text.splitlines() or [type(error).__name__])[0].split(". ")[0]
    return text if len(text) <= 100 else text[:97] + "..."


def _checked(path: Path, payload: Any, expect: Callable[[Any], None] | None, remedy: object) -> Any:
    if expect is not None:
        try:
            expect(payload)
        except ContentError as error:
            raise DataError(f"{path}: {error}; {remedy}") from None
    return payload


def read_json_file(path: Path, produced_by: str | None = None, expect: Callable[[Any], None] | None = None,
                   fix: str | None = None) -> Any:
    """A JSON file another stage wrote (results), as a mapping, else a one-line DataError naming ``path``
    and the fix (``fix``, else re-running ``produced_by``, else the stage ``dvc.lock`` names for it).

    ``expect(payload)`` may raise ``ContentError`` for a missing key or a wrong type inside."""
    path = Path(path)
    remedy = _Remedy(path, produced_by, fix)
    _require_file(path, remedy)
    try:
        payload = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not text (binary or damaged bytes); {remedy}") from None
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno}: "
                        f"truncated or damaged?); {remedy}") from None
    if not isinstance(payload, dict):
        raise DataError(f"{path}: holds a JSON {type(payload).__name__}, not the mapping of results a stage "
                        f"writes; {remedy}")
    return _checked(path, payload, expect, remedy)


def read_torch_file(path: Path, produced_by: str | None = None, expect: Callable[[Any], None] | None = None,
                    fix: str | None = None, map_location: Any = "cpu") -> Any:
    """A torch file another stage (or an earlier run) wrote, loaded safely (tensors and plain containers
    only), else a one-line DataError naming ``path`` and the fix, as ``read_json_file``: missing, empty,
    truncated or damaged (a record failing its checksum included), holding objects other than tensors, or
    failing ``expect``."""
    import torch
    path = Path(path)
    remedy = _Remedy(path, produced_by, fix)
    verify_torch_file(path, fix=remedy)      # also catches damaged bytes torch.load would not notice
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises RuntimeError, OSError, EOFError, ... on bad bytes
        if "unsupported global" in str(error).lower():
            raise DataError(f"{path}: holds objects other than tensors and plain containers (not a file this "
                            f"project writes); {remedy}") from None
        raise DataError(f"{path}: not a complete torch file (truncated or damaged: {_short(error)}); "
                        f"{remedy}") from None
    return _checked(path, payload, expect, remedy)


def verify_torch_file(path: Path, produced_by: str | None = None, fix: str | None = None) -> None:
    """Check, without loading its tensors, that a torch file is present and complete (its zip archive's
    directory and every record's CRC), else the one-line DataError ``read_torch_file`` would give: lets a stage
    that reads several files one after another refuse a damaged later one before doing any work."""
    import zipfile
    path = Path(path)
    remedy = _Remedy(path, produced_by, fix)
    _require_file(path, remedy)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path}: not a complete torch file (truncated or damaged: {_short(error)}); "
                        f"{remedy}") from None
    if bad is not None:
        raise DataError(f"{path}: not a complete torch file (truncated or damaged: record {bad} fails its "
                        f"checksum); {remedy}")


def expect_tensors(payload: Any, spec: dict[str, tuple[str, int]], what: str = "file") -> None:
    """Raise ``ContentError`` unless ``payload`` is a mapping holding, for every ``key: (kind, ndim)`` of
    ``spec``, a tensor of that many dimensions whose dtype is integer (``kind`` "int"), floating ("float")
    or boolean/uint8 ("bits"); the check behind a reader's ``expect``."""
    import torch
    if not isinstance(payload, dict):
        raise ContentError(f"holds a {type(payload).__name__}, not the mapping of tensors a {what} is")
    for key, (kind, ndim) in spec.items():
        value = payload.get(key)
        if not isinstance(value, torch.Tensor):
            raise ContentError(f"{key} is " + ("missing" if key not in payload else
                                               f"a {type(value).__name__}, not a tensor"))
        ok_kind = {"int": not value.dtype.is_floating_point and value.dtype != torch.bool,
                   "float": value.dtype.is_floating_point,
                   "bits": value.dtype in (torch.uint8, torch.bool)}[kind]
        if value.dim() != ndim or not ok_kind:
            raise ContentError(f"{key} is a {str(value.dtype).removeprefix('torch.')} tensor of shape "
                               f"{list(value.shape)}, not {ndim}-dimensional {kind}")


def read_checkpoint(path: Path, owner: str, map_location: Any = "cpu") -> dict[str, Any]:
    """A resumable run's checkpoint (a mapping), loaded onto ``map_location``. A damaged or foreign one
    stops the stage with one line that says it may be deleted to restart ``owner`` from its beginning (its
    progress then lost), rather than a silent restart that throws that progress away."""
    def expect(saved: Any) -> None:
        if not isinstance(saved, dict):
            raise ContentError(f"holds a {type(saved).__name__}, not a checkpoint's mapping")
    fix = (f"it holds the progress of {owner}: restore a good copy, or delete it to restart {owner} from its "
           "beginning")
    return read_torch_file(path, expect=expect, fix=fix, map_location=map_location)
