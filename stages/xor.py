"""DVC stage: XOR unit pruning (paper v1, Section 2): random-init and pruning success-rate tables.

Reads params `profile` and `xor`; writes results/xor/results.json (rates with standard errors, the
resolved settings, device and versions) and results/xor/timing.json.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.device import configure_numerics, environment_record, pick_device  # noqa: E402
from lth.experiments.xor import XorConfig, pruning_table, random_init_table  # noqa: E402
from lth.host import host_record  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402

OUT = Path("results/xor")


def main() -> None:
    args = stage_parser(__doc__).parse_args()

    def body() -> str:
        loaded = load_section(args.params, "xor", XorConfig)
        config = loaded.config
        device = pick_device()
        numerics = configure_numerics(device)
        start = time.perf_counter()
        random_init = random_init_table(config, device)
        middle = time.perf_counter()
        pruning = pruning_table(config, device)
        end = time.perf_counter()
        write_json_atomic(OUT / "results.json", {
            "profile": loaded.profile, "config": as_dict(config), "environment": environment_record(device, numerics),
            "random_init": random_init, "pruning": pruning})
        write_json_atomic(OUT / "timing.json", {"random_init_s": round(middle - start, 2),
                                                "pruning_s": round(end - middle, 2), "total_s": round(end - start, 1),
                                                "device": device.type, "host": host_record()})
        widest, narrowest = str(max(config.hidden_units)), str(min(config.hidden_units))
        return (f"{config.trials} trials per configuration on {device.type}; random init DB "
                f"{random_init[widest]['db']:.1f}% at {widest} units, {random_init[narrowest]['db']:.1f}% "
                f"at {narrowest}")

    run_stage("xor", body)


if __name__ == "__main__":
    main()
