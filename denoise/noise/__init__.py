"""Noise: the model registry and synthesis (:mod:`.models`), estimation from one
image (:mod:`.estimate`), variance stabilisation (:mod:`.vst`) and the camera
pipeline (:mod:`.camera`)."""
from .models import NOISE, NoiseModel, add_noise, get_noise, register_noise

__all__ = ["NOISE", "NoiseModel", "add_noise", "get_noise", "register_noise"]
