"""The one place that imports torchvision.

The registry's torchvision wheels are CUDA builds. Beside a CPU-only torch their C++ extension
cannot load, and ``import torchvision`` then dies while registering fake kernels for its
``torchvision::nms`` operator. Datasets and transforms are pure Python and work without the
extension, so on exactly that failure we skip the operator registrations and import again.
"""
from __future__ import annotations

import sys
import types

_MISSING_OPERATOR = "operator torchvision::"


def import_torchvision() -> types.ModuleType:
    """Return the ``torchvision`` module, working around a missing C++ extension (CPU torch)."""
    try:
        import torchvision
        return torchvision
    except RuntimeError as error:
        if _MISSING_OPERATOR not in str(error):
            raise
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    # Registrations of fake/autograd kernels for the C++ ops are what fails; nothing else needs them.
    for module in ("torchvision._meta_registrations",):
        sys.modules[module] = types.ModuleType(module)
    import torchvision
    return torchvision


torchvision = import_torchvision()
datasets = torchvision.datasets
