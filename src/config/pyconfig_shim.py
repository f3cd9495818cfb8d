"""Run a JupyterHub Python config file for jhub and report what it configured.

Usage: python3 pyconfig_shim.py <config-file>

The file is executed the way JupyterHub executes it (``c``, ``get_config()``,
``load_subconfig()``; any Python).  Every assignment ``c.Class.trait = value`` is recorded
with the config file and line that made it; container methods on traits that have no
value yet (``c.Spawner.environment.update(...)``) are kept as operations to merge later.
The result is one JSON document written to file descriptor 3 (stdout stays free for
``print`` in the config file).

Modules the config may import (jupyterhub, oauthenticator, dockerspawner, ...) are
provided as stand-ins when the real package is not installed, so that
``from oauthenticator.generic import GenericOAuthenticator`` works; classes cross to
jhub by name.  Values that cannot cross (functions, classes defined in the file,
arbitrary objects) are reported with a tag so that jhub can explain the problem.
"""

import importlib.abc
import importlib.machinery
import json
import math
import os
import sys
import traceback
import types

CONFIG_FILES = set()
NAMESPACE_NAME = "__jhub_config__"
_DEFINED = object()


def _where():
    """(file, line) of the innermost frame that belongs to a config file."""
    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_filename in CONFIG_FILES:
            return f.f_code.co_filename, f.f_lineno
        f = f.f_back
    return None, None


class LazyValue:
    """Container operations on a trait that has no value yet (like traitlets' LazyConfigValue)."""

    def __init__(self):
        self.extend_ = []
        self.prepend_ = []
        self.inserts = []
        self.update_ = None
        self.file = None
        self.line = None

    def _touch(self):
        self.file, self.line = _where()

    def append(self, obj):
        self._touch()
        self.extend_.append(obj)

    def extend(self, other):
        self._touch()
        self.extend_.extend(other)

    def prepend(self, other):
        self._touch()
        self.prepend_[:0] = other

    def insert(self, index, other):
        if not isinstance(index, int):
            raise TypeError("An integer is required")
        self._touch()
        self.inserts.append((index, other))

    def update(self, other):
        self._touch()
        if self.update_ is None:
            self.update_ = {} if isinstance(other, dict) else set()
        self.update_.update(other)

    def add(self, obj):
        self.update({obj})

    def __setitem__(self, key, value):
        self.update({key: value})

    def empty(self):
        return not (self.extend_ or self.prepend_ or self.inserts or self.update_)

    def __repr__(self):
        return "<LazyValue extend=%r prepend=%r inserts=%r update=%r>" % (
            self.extend_, self.prepend_, self.inserts, self.update_)


class Section:
    """``c.ClassName``: attribute assignments are recorded with their location."""

    def __init__(self, name):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_where", {})

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        values = object.__getattribute__(self, "_values")
        if key not in values:
            values[key] = LazyValue()
        return values[key]

    def __setattr__(self, key, value):
        self._values[key] = value
        self._where[key] = _where()

    def __getitem__(self, key):
        return self.__getattr__(key)

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __contains__(self, key):
        return key in self._values and not isinstance(self._values[key], LazyValue)

    def get(self, key, default=None):
        v = self._values.get(key, default)
        return default if isinstance(v, LazyValue) else v

    def keys(self):
        return [k for k in self._values if not isinstance(self._values[k], LazyValue)]

    def update(self, other=(), **kw):
        for k, v in dict(other, **kw).items():
            self.__setattr__(k, v)

    def __repr__(self):
        return "<config section %s>" % self._name


class Config:
    """``c``: one Section per class name."""

    def __init__(self):
        object.__setattr__(self, "_sections", {})

    def __getattr__(self, key):
        if key.startswith("__"):
            raise AttributeError(key)
        sections = object.__getattribute__(self, "_sections")
        if key not in sections:
            sections[key] = Section(key)
        return sections[key]

    def __setattr__(self, key, value):
        if not isinstance(value, dict):
            raise TypeError("c.%s must be assigned a dict of trait values" % key)
        sec = self.__getattr__(key)
        for k, v in value.items():
            sec.__setattr__(k, v)

    __getitem__ = __getattr__
    __setitem__ = __setattr__

    def __contains__(self, key):
        return key in self._sections

    def __repr__(self):
        return "<jhub config>"


# ---------------------------------------------------------------------------
# Stand-in modules
# ---------------------------------------------------------------------------

STANDIN_MODULES = {}


def _build_standins(spec, version):
    classes = {}
    pending = list(spec)
    while pending:
        rest = []
        for entry in pending:
            parent = entry.get("parent")
            if parent and parent not in classes:
                rest.append(entry)
                continue
            bases = (classes[parent],) if parent else (object,)
            paths = entry.get("paths") or []
            module = paths[0].rsplit(".", 1)[0] if paths else "jhub.standin"
            cls = type(entry["name"], bases, {
                "__module__": module,
                "__doc__": "jhub stand-in for %s" % entry["name"],
                "_jhub_path": paths[0] if paths else entry["name"],
            })
            cls._jhub_standin = cls
            classes[entry["name"]] = cls
            for p in paths:
                mod, _, name = p.rpartition(".")
                STANDIN_MODULES.setdefault(mod, {})[name] = cls
        if len(rest) == len(pending):
            break
        pending = rest
    # parent packages
    for mod in list(STANDIN_MODULES):
        parts = mod.split(".")
        for i in range(1, len(parts)):
            STANDIN_MODULES.setdefault(".".join(parts[:i]), {})
    STANDIN_MODULES.setdefault("jupyterhub", {})["__version__"] = version
    STANDIN_MODULES.setdefault("jupyterhub.utils", {})["url_path_join"] = url_path_join
    STANDIN_MODULES.setdefault("jupyterhub._version", {})["__version__"] = version


def url_path_join(*pieces):
    """Join URL path pieces with single slashes (as jupyterhub.utils.url_path_join)."""
    initial = pieces[0].startswith("/") if pieces else False
    final = pieces[-1].endswith("/") if pieces else False
    stripped = [s.strip("/") for s in pieces]
    result = "/".join(s for s in stripped if s)
    if initial:
        result = "/" + result
    if final:
        result = result + "/"
    if result == "//":
        result = "/"
    return result


class _StandinLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        module.__path__ = []  # a package: submodules resolve through the finder too
        module.__jhub_standin__ = True
        for k, v in STANDIN_MODULES.get(name, {}).items():
            setattr(module, k, v)


class _StandinFinder(importlib.abc.MetaPathFinder):
    """Last on sys.meta_path: only used when the real package is not installed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in STANDIN_MODULES:
            return importlib.machinery.ModuleSpec(fullname, _StandinLoader(), is_package=True)
        return None


# ---------------------------------------------------------------------------
# Encoding values for jhub
# ---------------------------------------------------------------------------

def _is_standin(cls):
    return getattr(cls, "_jhub_standin", None) is cls


def _source_line(obj):
    code = getattr(obj, "__code__", None)
    if code is not None:
        return code.co_filename, code.co_firstlineno
    if isinstance(obj, type):
        line = getattr(obj, "__firstlineno__", None)  # Python 3.13+
        for x in vars(obj).values():
            x = getattr(x, "__func__", x)
            c = getattr(x, "__code__", None)
            if c is None:
                continue
            if line is None:
                line = _class_line(c.co_filename, obj.__name__, c.co_firstlineno)
            return c.co_filename, line
        for f in CONFIG_FILES:
            line = _class_line(f, obj.__name__, None)
            if line:
                return f, line
    return None, None


def _class_line(filename, name, near):
    """Line of `class <name>` in a file (the last one before line `near`)."""
    try:
        import ast
        with open(filename, "rb") as fh:
            tree = ast.parse(fh.read())
    except Exception:
        return near
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name and (near is None or node.lineno <= near):
            if best is None or node.lineno > best:
                best = node.lineno
    return best or near


def _class_path(cls):
    if _is_standin(cls):
        return cls._jhub_path
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def encode(v, depth=0):
    if depth > 64:
        return {"$t": "opaque", "kind": "object", "repr": "<too deeply nested>", "type": type(v).__name__}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return {"$t": "float", "v": "nan"}
        if math.isinf(v):
            return {"$t": "float", "v": "inf" if v > 0 else "-inf"}
        if v.is_integer():
            return {"$t": "float", "v": v}
        return v
    if isinstance(v, (bytes, bytearray)):
        return {"$t": "bytes", "hex": bytes(v).hex()}
    if isinstance(v, list):
        return [encode(x, depth + 1) for x in v]
    if isinstance(v, tuple):
        return {"$t": "tuple", "items": [encode(x, depth + 1) for x in v]}
    if isinstance(v, (set, frozenset)):
        items = list(v)
        try:
            items.sort()
        except TypeError:
            pass
        return {"$t": "set", "items": [encode(x, depth + 1) for x in items]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and "$t" not in v:
            return {k: encode(x, depth + 1) for k, x in v.items()}
        return {"$t": "dict", "items": [[encode(k, depth + 1), encode(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, type):
        file, line = _source_line(v)
        if _is_standin(v) or (v.__module__ not in (NAMESPACE_NAME, "builtins", "__main__") and file not in CONFIG_FILES):
            return {"$t": "classref", "path": _class_path(v)}
        bases = [_class_path(b) for b in v.__bases__ if b is not object]
        methods = sorted(k for k, x in vars(v).items()
                         if not k.startswith("__") and (callable(x) or isinstance(x, (staticmethod, classmethod, property))))
        return {"$t": "opaque", "kind": "class", "repr": "<class %s>" % v.__qualname__, "name": v.__qualname__,
                "file": file, "line": line, "bases": bases, "methods": methods}
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if callable(v):
        target = getattr(v, "func", v)  # functools.partial
        file, line = _source_line(target)
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(v).__name__
        return {"$t": "opaque", "kind": "function", "repr": "<function %s>" % name, "name": name,
                "file": file, "line": line}
    r = repr(v)
    if len(r) > 200:
        r = r[:197] + "..."
    return {"$t": "opaque", "kind": "object", "repr": r, "type": type(v).__name__}


def dump_config(c):
    out = {}
    for sname, sec in c._sections.items():
        entries = {}
        for key, value in sec._values.items():
            if isinstance(value, LazyValue):
                if value.empty():
                    continue
                upd = value.update_
                entries[key] = {
                    "lazy": {
                        "extend": encode(value.extend_),
                        "prepend": encode(value.prepend_),
                        "inserts": [[i, encode(x)] for i, x in value.inserts],
                        "update": None if upd is None else {
                            "kind": "dict" if isinstance(upd, dict) else "set",
                            "value": encode(upd) if isinstance(upd, dict) else encode(list(upd)),
                        },
                    },
                    "file": value.file,
                    "line": value.line,
                }
            else:
                file, line = sec._where.get(key, (None, None))
                entries[key] = {"value": encode(value), "file": file, "line": line}
        if entries:
            out[sname] = entries
    return out


# ---------------------------------------------------------------------------
# Running the file
# ---------------------------------------------------------------------------

WARNINGS = []


def run_file(path, c):
    path = os.path.abspath(path)
    CONFIG_FILES.add(path)
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")

    def load_subconfig(fname, path_=None):
        base = path_ or os.path.dirname(path)
        full = fname if os.path.isabs(fname) else os.path.join(base, fname)
        if not os.path.exists(full):
            file, line = _where()
            WARNINGS.append("%s:%s: load_subconfig: file %s not found (ignored)" % (file, line, full))
            return
        run_file(full, c)

    namespace = {
        "c": c,
        "get_config": lambda: c,
        "load_subconfig": load_subconfig,
        "__file__": path,
        "__name__": NAMESPACE_NAME,
        "__builtins__": __builtins__,
    }
    exec(code, namespace, namespace)


def error_location(exc):
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    loc = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        fn = tb.tb_frame.f_code.co_filename
        if fn in CONFIG_FILES:
            loc = (fn, tb.tb_lineno)
        tb = tb.tb_next
    return loc


def main(path):
    out = os.fdopen(3, "w")
    spec = json.loads(os.environ.pop("JHUB_PYCONFIG_STANDINS", "[]"))
    version = os.environ.pop("JHUB_PYCONFIG_VERSION", "5.3.0")
    _build_standins(spec, version)
    sys.meta_path.append(_StandinFinder())
    # do not let jhub's own source directory shadow modules
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.argv = ["jupyterhub"]
    c = Config()
    try:
        run_file(path, c)
    except BaseException as e:  # noqa: B902 - report everything, including SystemExit
        file, line = error_location(e)
        if isinstance(e, SyntaxError):
            msg = "SyntaxError: %s" % e.msg
            if e.text:
                msg += " (%s)" % e.text.strip()
        elif isinstance(e, SystemExit):
            msg = "the config file called exit(%r)" % (e.code,)
        else:
            msg = "".join(traceback.format_exception_only(type(e), e)).strip()
        json.dump({"ok": False, "error": {"file": file, "line": line, "message": msg, "type": type(e).__name__}}, out)
        out.close()
        return
    try:
        data = dump_config(c)
    except Exception as e:
        json.dump({"ok": False, "error": {"file": None, "line": None, "message": "cannot encode config: %s" % e,
                                          "type": type(e).__name__}}, out)
        out.close()
        return
    json.dump({"ok": True, "files": sorted(CONFIG_FILES), "config": data, "warnings": WARNINGS}, out)
    out.close()


if __name__ == "__main__":
    main(sys.argv[1])
