# Where the installed shared library is; `make install` writes this file again with its own values.
# None: look the library up by its SONAME only (LD_LIBRARY_PATH, the loader's cache), then in the build
# tree of a checkout.
LIBDIR = None
SONAME = "libaudioaudit.so.0"
