"""The test drivers built beside the binaries (tests/support/*_driver.cpp): the C++ clients the
end-to-end tests run as processes. Each is found through its own environment variable, else in
$POSTERN_BUILD_DIR (default: the source tree's build/).

    path = driver_path("POSTERN_HPFEEDS_DRIVER", "hpfeeds-publish-driver")   # None: not built
    path = require_driver("POSTERN_HPFEEDS_DRIVER", "hpfeeds-publish-driver")  # or AssertionError
"""
import os


def driver_path(variable, name):
    explicit = os.environ.get(variable)
    if explicit:
        return explicit
    build = os.environ.get("POSTERN_BUILD_DIR")
    if not build:
        source = os.environ.get("POSTERN_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
        build = os.path.join(source, "build")
    for candidate in (os.path.join("tests", name), name):
        path = os.path.join(build, candidate)
        if os.access(path, os.X_OK):
            return path
    return None


def require_driver(variable, name):
    """The driver's path; a missing one fails the suite (a skip would pass CI with what it drives
    untested)."""
    path = driver_path(variable, name)
    if path is None or not os.access(path, os.X_OK):
        raise AssertionError(f"{name} is missing ({path or 'not found under POSTERN_BUILD_DIR'}):"
                             f" build the {name} target or set {variable}")
    return path
