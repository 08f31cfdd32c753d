"""Builds the `modelsign` Python package with the project's CMake build (scikit-build).

    pip install --no-build-isolation .

Only the library, the native module and the pure-Python package are built and installed
(no tests, no benchmarks, no command-line binary: `python -m modelsign` and the
`modelsign` script run the same command line from the package).
"""

import re
from pathlib import Path

from skbuild import setup

here = Path(__file__).resolve().parent
version = re.search(r"project\(modelsign VERSION ([0-9.]+)", (here / "CMakeLists.txt").read_text()).group(1)

setup(
    name="modelsign",
    version=version,
    description="Sign and verify machine-learning models (OpenSSF Model Signing format) with PEM, "
                "X.509, PKCS#11 and TPM 2.0 keys",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=["modelsign"],
    package_dir={"": "python"},
    package_data={"modelsign": ["py.typed", "*.pyi"]},
    cmake_install_dir="python",
    cmake_install_target="install-python",
    cmake_args=["-DMODELSIGN_PYTHON=ON", "-DMODELSIGN_BUILD_TESTS=OFF", "-DMODELSIGN_BUILD_BENCH=OFF"],
    entry_points={"console_scripts": ["modelsign = modelsign.__main__:main"]},
)
