"""DVC stage: XOR calibration (paper v1, Section 2): the random-init success rates of every setting of
the choices the paper leaves open (activation, optimizer and rate, weight init and scale, bias init).

Reads params `profile` and `xor_calibration`; writes results/xor/calibration.json (rates with standard
errors per setting and width, the resolved grid, device and versions) and results/xor/calibration_timing.json.
The report ranks the settings by their distance to the paper's table; the closest is the `xor` default.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lth.cli import run_stage, stage_parser  # noqa: E402
from lth.config import as_dict, load_section  # noqa: E402
from lth.device import configure_numerics, environment_record, pick_device  # noqa: E402
from lth.experiments.xor_calibration import XorCalibrationConfig, calibrate, grid_size  # noqa: E402
from lth.host import host_record  # noqa: E402
from lth.io import write_json_atomic  # noqa: E402

OUT = Path("results/xor")


def main() -> None:
    args = stage_parser(__doc__).parse_args()

    def body() -> str:
        loaded = load_section(args.params, "xor_calibration", XorCalibrationConfig)
        config = loaded.config
        device = pick_device()
        numerics = configure_numerics(device)
        start = time.perf_counter()
        settings = calibrate(config, device)
        write_json_atomic(OUT / "calibration.json", {
            "profile": loaded.profile, "config": as_dict(config), "environment": environment_record(device, numerics),
            "settings": settings})
        write_json_atomic(OUT / "calibration_timing.json", {"total_s": round(time.perf_counter() - start, 1),
                                                            "device": device.type, "host": host_record()})
        return f"{grid_size(config)} settings x {len(config.hidden_units)} widths x {config.trials} trials on {device.type}"

    run_stage("xor_calibration", body)


if __name__ == "__main__":
    main()
