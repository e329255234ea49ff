"""The layout of VGG16/VGG19 (convolutions per block, channels per block), shared by the network builder
(vgg.py) and the Keras weight reader (keras.py)."""
from __future__ import annotations

# Convolutions per block.
CONFIGS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
CHANNELS = (64, 128, 256, 512, 512)
