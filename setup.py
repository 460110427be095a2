"""Surveillance Mirror: a face-surveillance kiosk that shows visitors what such systems conclude.

mediapipe is deliberately *not* in install_requires: mediapipe 0.10.18 declares
opencv-contrib-python, jax, jaxlib, sentencepiece and sounddevice, none of which its face-mesh
path imports, and opencv-contrib-python would put a second OpenCV distribution into the
environment (two packages owning ``cv2``). `make setup` installs it with ``pip install --no-deps``
and the runtime dependencies it really imports are listed below.
"""
from setuptools import find_packages, setup

MEDIAPIPE_VERSION = "0.10.18"

setup(
    name="surveillance-mirror",
    version="0.1.0",
    description="A face-surveillance kiosk for exhibitions that shows visitors what such systems conclude about them",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["kiosk", "kiosk.*"]),
    include_package_data=True,
    package_data={"kiosk": ["py.typed"], "kiosk.analysis": ["face_detail.schema.json"]},
    install_requires=[
        "numpy>=1.24,<2",
        "opencv-python>=4.8,<4.12",
        "onnxruntime>=1.20,<1.29",
        "pygame>=2.5,<3",
        "PyYAML>=6,<7",
        "pydantic>=2.6,<3",
        "tqdm>=4.60",
        # Image headers (size) read before decoding a watchlist portrait: decompression-bomb check.
        # Already installed as a dependency of matplotlib; listed because the kiosk imports it.
        "Pillow>=9",
        # Model preparation (`kiosk models fetch`): editing ONNX graphs and reading the Keras HDF5 file.
        "onnx>=1.16,<1.23",
        "h5py>=3.8",
        # What mediapipe's face-mesh path imports (mediapipe itself: see module docstring).
        "protobuf>=4.25,<5",
        "absl-py",
        "attrs>=19.1",
        "flatbuffers>=2.0",
        "matplotlib>=3.6",
        # The take-home QR code (kiosk/ui/takehome.py): pure Python, no dependencies, renders to a
        # module matrix in memory (no file, no PIL needed), actively maintained.
        "segno>=1.5,<2",
    ],
    extras_require={
        "test": ["pytest>=7", "hypothesis>=6", "jsonschema>=4"],
    },
    entry_points={"console_scripts": ["kiosk=kiosk.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
        "Topic :: Education",
    ],
)
