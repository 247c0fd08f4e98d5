"""The package's PEP 517 build backend: builds the C library with CMake and writes a wheel
holding the package and libinfinite_tensor.so, with the standard library only (no setuptools,
no wheel, nothing from a package index: builds work offline in a fresh venv).

The wheel is tagged py3-none-<platform>: the package is pure Python and loads the library with
cffi's ABI mode, so any Python 3 of the platform takes it. CMake options for the library can be
passed with `pip install --config-settings cmake-args="-DIT_WITH_LZ4=OFF ..."`."""
import base64
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)              # python/
SOURCE_ROOT = os.path.dirname(PACKAGE_ROOT)       # the repository
NAME = "infinite_tensor"
DIST = "infinite_tensor"


def _version():
    with open(os.path.join(SOURCE_ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(infinite_tensor VERSION ([0-9.]+)", f.read())
    if not m:
        raise RuntimeError("cannot find the project version in CMakeLists.txt")
    return m.group(1)


def _tag():
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _metadata(version):
    return (f"Metadata-Version: 2.1\nName: infinite-tensor\nVersion: {version}\n"
            "Summary: Tensors with unbounded dimensions computed on demand by window functions\n"
            "Requires-Python: >=3.9\nRequires-Dist: numpy\nRequires-Dist: cffi\n"
            "Provides-Extra: dask\nRequires-Dist: dask; extra == \"dask\"\n"
            "Provides-Extra: xarray\nRequires-Dist: xarray; extra == \"xarray\"\n")


def _build_library(config_settings):
    """Configures and builds the shared library in a temporary tree; returns the library file
    (the real one, named by its soname in the wheel) and the tree to remove."""
    tree = tempfile.mkdtemp(prefix="infinite-tensor-build-")
    extra = shlex.split((config_settings or {}).get("cmake-args", ""))
    jobs = str(os.cpu_count() or 1)
    subprocess.run(["cmake", "-S", SOURCE_ROOT, "-B", tree, "-DCMAKE_BUILD_TYPE=Release",
                    "-DIT_BUILD_TESTS=OFF", "-DIT_BUILD_EXAMPLES=OFF", "-DIT_BUILD_TOOLS=OFF",
                    "-DIT_BUILD_BENCH=OFF", "-DIT_WITH_MPI=OFF", *extra], check=True)
    subprocess.run(["cmake", "--build", tree, "--target", "infinite_tensor", "-j", jobs],
                   check=True)
    so = os.path.join(tree, "libinfinite_tensor.so")
    return os.path.realpath(so), tree


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _package_files():
    root = os.path.join(PACKAGE_ROOT, NAME)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in sorted(filenames):
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                yield path, os.path.relpath(path, PACKAGE_ROOT)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    library, tree = _build_library(config_settings)
    try:
        wheel_name = f"{DIST}-{version}-{_tag()}.whl"
        dist_info = f"{DIST}-{version}.dist-info"
        records = []
        path = os.path.join(wheel_directory, wheel_name)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            def add(arcname, data):
                z.writestr(arcname, data)
                records.append(_record_line(arcname, data))
            for src, arcname in _package_files():
                if os.path.basename(arcname) == "_location.py":
                    continue  # written by CMake installs only
                with open(src, "rb") as f:
                    add(arcname, f.read())
            # the library beside the package, as the package looks for it first
            with open(library, "rb") as f:
                lib = f.read()
            # under its soname (libinfinite_tensor.so.<ABI>, tools/release/ABI.md)
            soname = re.match(r"libinfinite_tensor\.so\.\d+",
                              os.path.basename(os.path.realpath(library))).group(0)
            add(f"{NAME}/{soname}", lib)
            add(f"{NAME}/_location.py", (f'"""Written by the wheel build: the library is beside '
                                         f'the package."""\nLIBRARY = "{soname}"\n').encode())
            add(f"{dist_info}/METADATA", _metadata(version).encode())
            add(f"{dist_info}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: itbuild\n"
                                       f"Root-Is-Purelib: false\nTag: {_tag()}\n").encode())
            add(f"{dist_info}/top_level.txt", f"{NAME}\n".encode())
            record = "\n".join(records + [f"{dist_info}/RECORD,,"]) + "\n"
            z.writestr(f"{dist_info}/RECORD", record)
        return wheel_name
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("infinite-tensor has no sdist: its package builds from the repository "
                       "(pip install ./python in a checkout)")
