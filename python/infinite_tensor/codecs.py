"""The chunk codecs of the loaded library, as its codec table lists them."""
from ._lib import ffi, lib, text


def codecs():
    """Every codec the library knows, by name, in its order: a dict of name -> {"available":
    this build writes and reads it, "levels": (1, highest) or None for "none", "default_level",
    "hdf5_filter": the filter id of its chunks (0: none), "needs_plugin": readers need an HDF5
    filter plugin, "package": the Debian package to rebuild with when not available}. The names
    are what HDF5TileStore and export_hdf5 take as compression."""
    out = {}
    info = ffi.new("it_codec_info *")
    code = 0
    while lib.it_compression_info(code, info) == 0:
        out[text(info.name)] = {
            "available": bool(info.available),
            "levels": (1, info.max_level) if info.max_level > 0 else None,
            "default_level": info.default_level,
            "hdf5_filter": info.filter,
            "needs_plugin": bool(info.needs_plugin),
            "package": text(info.package) if info.package != ffi.NULL else None,
        }
        code += 1
    return out
