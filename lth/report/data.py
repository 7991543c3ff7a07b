"""Data section of the report: what each data stage prepared (split sizes, the validation split's hash)."""
from __future__ import annotations

from pathlib import Path

from lth.report.common import Section, markdown_table, read_json


def data_section(results: Path) -> Section | None:
    """What each data stage prepared (split sizes and the validation split's fingerprint)."""
    folder = results / "data"
    infos = [read_json(p) for p in sorted(folder.glob("*.json"))] if folder.exists() else []
    if not infos:
        return None
    rows = [[i["dataset"], str(i["train"]), str(i["validation"]), str(i["test"]),
             "×".join(map(str, i["image_shape"])), f"{i['split_seed']} / `{i['validation_index_sha256']}`"]
            for i in infos]
    table = markdown_table(["dataset", "train", "validation", "test", "image", "split seed / hash"], rows)
    overridden = [i["dataset"] for i in infos if i.get("md5_overridden")]
    note = (f"\n\n**Checksums overridden for {', '.join(overridden)} (test data, not the real sets).**"
            if overridden else "")
    return Section(f"## Data\n\ntorchvision datasets, md5-checked against torchvision's checksums; the validation"
                   f" images are held out of the training set by a fixed seed.\n\n{table}{note}\n")
