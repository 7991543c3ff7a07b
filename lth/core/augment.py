"""Data augmentation on the device (the standard CIFAR flips and crops), drawn from a generator of its own."""
from __future__ import annotations

import torch
from torch.nn import functional as F


def flip_and_crop(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """The standard CIFAR augmentation, on the device: each image [..., C, H, W] is flipped horizontally
    with probability 1/2 and cropped back to H x W at a random offset after zero-padding by ``pad`` pixels
    (zero = the mean pixel, since inputs are normalised)."""
    shape = x.shape
    images = x.reshape(-1, *shape[-3:])
    count, _, height, width = images.shape
    device = images.device
    flip = torch.rand(count, generator=generator, device=device) < 0.5
    images = torch.where(flip.view(-1, 1, 1, 1), images.flip(3), images)
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (count, 1), generator=generator, device=device)
    dx = torch.randint(0, 2 * pad + 1, (count, 1), generator=generator, device=device)
    rows = (dy + torch.arange(height, device=device)).view(count, 1, height, 1)
    cols = (dx + torch.arange(width, device=device)).view(count, 1, 1, width)
    channels = torch.arange(images.shape[1], device=device).view(1, -1, 1, 1)
    batch = torch.arange(count, device=device).view(-1, 1, 1, 1)
    return padded[batch, channels, rows, cols].reshape(shape)
