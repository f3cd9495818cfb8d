"""Run a JupyterHub Python config file for jhub and report what it configured.

Usage: python3 pyconfig_shim.py <config-file>

The file is executed the way JupyterHub executes it (``c``, ``get_config()``,
``load_subconfig()``; any Python).  Every assignment ``c.Class.trait = value`` is recorded
with the config file and line that made it; container methods on traits that have no
value yet (``c.Spawner.environment.update(...)``) are kept as operations to merge later.
The result is one JSON document written to file descriptor 3 (stdout stays free for
``print`` in the config file).

Modules the config may import (jupyterhub, oauthenticator, dockerspawner, ...) are
provided as stand-ins (even when the real package is installed), so that
``from oauthenticator.generic import GenericOAuthenticator`` works; classes cross to
jhub by name.  Values that cannot cross (arbitrary objects) are reported with a tag so
that jhub can explain the problem.

Serve mode (the Python bridge, src/config/bridge.ts): when jhub passes $JHUB_PYBRIDGE_DIR
and the configuration contains callables (functions, lambdas, methods of a subclass of a
stand-in class defined in the file), they are registered by their place in the config
(e.g. ``Spawner.environment["X"]``, ``JupyterHub.authenticator_class#normalize_username``)
and cross as ids.  After writing the result, the process creates two FIFOs in that
directory and serves calls (length-prefixed JSON frames) from an asyncio loop until jhub
closes the channel or its stdin.  Without callables it exits as before.
"""

import importlib.abc
import importlib.machinery
import json
import math
import os
import signal
import struct
import threading
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
    """First on sys.meta_path: the modules jhub provides are always its stand-ins."""

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


def _sub(path, part):
    return None if path is None else path + part


def encode(v, depth=0, path=None):
    """Tagged JSON for jhub. `path` names the value's place in the config (Section.trait[...]):
    with the bridge enabled (serve mode) callables are registered under it and cross by id."""
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
        return [encode(x, depth + 1, _sub(path, "[%d]" % i)) for i, x in enumerate(v)]
    if isinstance(v, tuple):
        return {"$t": "tuple", "items": [encode(x, depth + 1, _sub(path, "[%d]" % i)) for i, x in enumerate(v)]}
    if isinstance(v, (set, frozenset)):
        items = list(v)
        try:
            items.sort()
        except TypeError:
            pass
        return {"$t": "set", "items": [encode(x, depth + 1, _sub(path, "{%d}" % i)) for i, x in enumerate(items)]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and "$t" not in v:
            return {k: encode(x, depth + 1, _sub(path, "[%s]" % json.dumps(k))) for k, x in v.items()}
        return {"$t": "dict", "items": [[encode(k, depth + 1), encode(x, depth + 1, _sub(path, "[%r]" % (k,)))]
                                        for k, x in v.items()]}
    if isinstance(v, _Obj):
        return {"$t": "obj", "kind": v._jhub_kind, "arg": v._jhub_arg, "attrs": _obj_attrs(v, depth)}
    if isinstance(v, _JsRef):
        return {"$t": "jsref", "n": v.n}
    if isinstance(v, type):
        file, line = _source_line(v)
        if _is_standin(v) or (v.__module__ not in (NAMESPACE_NAME, "builtins", "__main__") and file not in CONFIG_FILES):
            return {"$t": "classref", "path": _class_path(v)}
        bases = [_class_path(b) for b in v.__bases__ if b is not object]
        methods = sorted(k for k, x in vars(v).items()
                         if not k.startswith("__") and (callable(x) or isinstance(x, (staticmethod, classmethod, property))))
        if BRIDGE.enabled:
            sub = _encode_subclass(v, path, file, line, bases, depth)
            if sub is not None:
                return sub
        return {"$t": "opaque", "kind": "class", "repr": "<class %s>" % v.__qualname__, "name": v.__qualname__,
                "file": file, "line": line, "bases": bases, "methods": methods}
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    if callable(v):
        target = getattr(v, "func", v)  # functools.partial
        file, line = _source_line(target)
        name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(v).__name__
        if BRIDGE.enabled:
            fid = BRIDGE.register(v, path)
            return {"$t": "pyfunc", "id": fid, "name": name, "file": file, "line": line,
                    "async": _is_async(target)}
        return {"$t": "opaque", "kind": "function", "repr": "<function %s>" % name, "name": name,
                "file": file, "line": line}
    r = repr(v)
    if len(r) > 200:
        r = r[:197] + "..."
    return {"$t": "opaque", "kind": "object", "repr": r, "type": type(v).__name__}


def _encode_subclass(cls, path, file, line, bases, depth):
    """A class defined in the config file deriving from a known class: the known base crosses
    by name, each method defined in the file crosses as a callable (self = a snapshot)."""
    mro = cls.__mro__
    base = None
    own = []
    for k in mro[1:]:
        kfile, _ = _source_line(k)
        if k is object:
            break
        if _is_standin(k) or (k.__module__ not in (NAMESPACE_NAME, "builtins", "__main__") and kfile not in CONFIG_FILES):
            base = k
            break
        own.append(k)
    if base is None:
        return None
    methods = {}
    attrs = {}
    for k in reversed([cls] + own):
        for name, x in vars(k).items():
            if name.startswith("__"):
                continue
            raw = x
            if isinstance(x, (staticmethod, classmethod)):
                raw = x.__func__
            if isinstance(x, property) or callable(raw):
                target = raw.fget if isinstance(x, property) else raw
                mfile, mline = _source_line(target) if target is not None else (None, None)
                entry = {"file": mfile, "line": mline, "kind": "property" if isinstance(x, property) else "method",
                         "async": _is_async(target)}
                if not isinstance(x, property):
                    entry["id"] = BRIDGE.register(_Method(cls, name), _sub(path, "#" + name) or "dyn.%s#%s" % (cls.__qualname__, name))
                methods[name] = entry
                attrs.pop(name, None)
            else:
                methods.pop(name, None)
                attrs[name] = encode(x, depth + 1, _sub(path, "." + name))
    return {"$t": "pyclass", "name": cls.__qualname__, "file": file, "line": line, "bases": bases,
            "base": _class_path(base), "methods": methods, "attrs": attrs}


def dump_config(c):
    out = {}
    for sname, sec in c._sections.items():
        entries = {}
        for key, value in sec._values.items():
            if isinstance(value, LazyValue):
                if value.empty():
                    continue
                upd = value.update_
                p = "%s.%s" % (sname, key)
                entries[key] = {
                    "lazy": {
                        "extend": encode(value.extend_, 0, p + ".extend"),
                        "prepend": encode(value.prepend_, 0, p + ".prepend"),
                        "inserts": [[i, encode(x, 0, p + ".insert%d" % n)] for n, (i, x) in enumerate(value.inserts)],
                        "update": None if upd is None else {
                            "kind": "dict" if isinstance(upd, dict) else "set",
                            "value": encode(upd, 0, p + ".update") if isinstance(upd, dict) else encode(list(upd), 0, p + ".update"),
                        },
                    },
                    "file": value.file,
                    "line": value.line,
                }
            else:
                file, line = sec._where.get(key, (None, None))
                entries[key] = {"value": encode(value, 0, "%s.%s" % (sname, key)), "file": file, "line": line}
        if entries:
            out[sname] = entries
    return out



# ---------------------------------------------------------------------------
# The Python bridge (serve mode): callables cross to jhub by id and are called here
# ---------------------------------------------------------------------------

def _is_async(f):
    code = getattr(getattr(f, "func", f), "__code__", None)
    return bool(code is not None and code.co_flags & 0x80)  # CO_COROUTINE


class _Method:
    """A method of a config-defined subclass, called on a snapshot instance of that class."""

    def __init__(self, cls, name):
        self.cls = cls
        self.name = name

    def __call__(self, *args, **kw):  # not called directly
        raise TypeError("unbound method")


class _Bridge:
    def __init__(self):
        self.enabled = False
        self.registry = {}
        self.ndyn = 0

    def register(self, fn, path):
        if path is None:
            self.ndyn += 1
            path = "dyn:%d" % self.ndyn
        self.registry[path] = fn
        return path


BRIDGE = _Bridge()


class _LazyLog:
    """`self.log` in hooks and methods: the "JupyterHub" logger (stderr, like the hub's log)."""

    def __get__(self, obj, owner):
        import logging
        return logging.getLogger("JupyterHub")


_LOG = _LazyLog()


class _Obj:
    """A snapshot of a jhub object (spawner, authenticator, user, handler) given to a hook.
    Attributes (and items) can be read and set; jhub applies the documented changes back."""

    log = _LOG

    def __init__(self, kind, attrs, arg=None):
        object.__setattr__(self, "_jhub_kind", kind)
        object.__setattr__(self, "_jhub_arg", arg)
        self.__dict__.update(attrs)

    def __getitem__(self, k):
        try:
            return self.__dict__[k]
        except KeyError:
            raise KeyError(k) from None

    def __setitem__(self, k, v):
        self.__dict__[k] = v

    def __contains__(self, k):
        return k in self.__dict__

    def get(self, k, default=None):
        return self.__dict__.get(k, default)

    def __getattr__(self, k):
        if k.startswith("__"):
            raise AttributeError(k)
        raise AttributeError("%s snapshot has no attribute %r (jhub passes: %s)" % (
            self._jhub_kind, k, ", ".join(sorted(x for x in self.__dict__ if not x.startswith("_")))))

    def __repr__(self):
        return "<jhub %s %s>" % (self._jhub_kind, self.__dict__.get("name", ""))


class _JsRef:
    """A JavaScript value (e.g. a function from another config source) passed through untouched."""

    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "<jhub javascript value>"


def _obj_attrs(o, depth=0):
    return {k: encode(x, depth + 1) for k, x in vars(o).items() if not k.startswith("_")}


def _decode(v, objs=None, arg=None):
    if isinstance(v, list):
        return [_decode(x, objs) for x in v]
    if not isinstance(v, dict):
        return v
    t = v.get("$t")
    if t is None:
        return {k: _decode(x, objs) for k, x in v.items()}
    if t == "bytes":
        return bytes.fromhex(v["hex"])
    if t == "set":
        return set(_decode(x, objs) for x in v["items"])
    if t == "tuple":
        return tuple(_decode(x, objs) for x in v["items"])
    if t == "float":
        return float(v["v"])
    if t == "dict":
        return {_decode(k, objs): _decode(x, objs) for k, x in v["items"]}
    if t == "pyref":
        fn = BRIDGE.registry.get(v["id"])
        return fn if fn is not None else _JsRef(-1)
    if t == "jsref":
        return _JsRef(v["n"])
    if t == "obj":
        o = _Obj(v.get("kind") or "object", {k: _decode(x, objs) for k, x in v.get("attrs", {}).items()}, arg)
        return o
    return {k: _decode(x, objs) for k, x in v.items()}


def _make_self(cls, snap):
    """An instance of the config-defined class holding the snapshot's attributes."""
    inst = object.__new__(cls)
    attrs = _decode(snap.get("attrs", {})) if isinstance(snap, dict) else {}
    for k, x in attrs.items():
        try:
            inst.__dict__[k] = x
        except Exception:
            pass
    return inst


def _install_standin_methods():
    """Default implementations on the stand-ins, so that `super().normalize_username(name)` works."""
    standins = {}
    for mod in STANDIN_MODULES.values():
        for v in mod.values():
            if isinstance(v, type):
                standins[v.__name__] = v

    def normalize_username(self, username):
        username = username.lower()
        return (getattr(self, "username_map", None) or {}).get(username, username)

    def validate_username(self, username):
        import re
        pattern = getattr(self, "username_pattern", "")
        return not pattern or bool(re.match(pattern, username))

    async def load_managed_roles(self):
        return []

    def get_env(self):
        return dict(getattr(self, "environment", None) or {})

    def options_from_form(self, formdata):
        return formdata

    for name, meths in (("Authenticator", {"normalize_username": normalize_username, "validate_username": validate_username,
                                           "load_managed_roles": load_managed_roles}),
                        ("Spawner", {"get_env": get_env, "options_from_form": options_from_form})):
        cls = standins.get(name)
        if cls is not None:
            for k, f in meths.items():
                setattr(cls, k, f)
            cls.log = _LOG


class _HookTimeout(BaseException):
    pass


def _error(e, fn_name, fallback):
    file, line = None, None
    tb = e.__traceback__
    while tb is not None:
        fn = tb.tb_frame.f_code.co_filename
        if fn in CONFIG_FILES:
            file, line = fn, tb.tb_lineno
        tb = tb.tb_next
    if file is None:
        file, line = fallback
    msg = "".join(traceback.format_exception_only(type(e), e)).strip()
    prefix = type(e).__name__ + ": "
    if msg.startswith(prefix):
        msg = msg[len(prefix):]
    elif msg == type(e).__name__:
        msg = ""
    return {"type": type(e).__name__, "message": msg, "file": file, "line": line, "function": fn_name,
            "timeout": bool(getattr(e, "_jhub_timeout", False))}


class _Server:
    def __init__(self, dirpath):
        import asyncio
        self.asyncio = asyncio
        self.dir = dirpath
        self.buf = b""
        self.in_call = False

    def start(self):
        req_path = os.path.join(self.dir, "req")
        resp_path = os.path.join(self.dir, "resp")
        os.mkfifo(req_path, 0o600)
        os.mkfifo(resp_path, 0o600)
        self.req = os.open(req_path, os.O_RDONLY | os.O_NONBLOCK)
        self.resp = os.open(resp_path, os.O_WRONLY)  # waits until jhub opens it
        self.send({"ready": True, "pid": os.getpid(), "functions": sorted(BRIDGE.registry)})
        import logging
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="[%(levelname).1s %(asctime)s JupyterHub config.py] %(message)s")
        signal.signal(signal.SIGALRM, self._alarm)
        loop = self.asyncio.new_event_loop()
        self.asyncio.set_event_loop(loop)
        self.loop = loop
        loop.add_reader(self.req, self._readable)
        loop.run_forever()

    def _alarm(self, signum, frame):
        if self.in_call:
            raise _HookTimeout("did not return in time")

    def send(self, obj):
        data = json.dumps(obj).encode("utf-8")
        data = struct.pack(">I", len(data)) + data
        while data:
            n = os.write(self.resp, data)
            data = data[n:]

    def _readable(self):
        while True:
            try:
                chunk = os.read(self.req, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                os._exit(0)  # jhub closed the channel (stopped or died)
            self.buf += chunk
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            if len(self.buf) < 4 + n:
                break
            req = json.loads(self.buf[4:4 + n].decode("utf-8"))
            self.buf = self.buf[4 + n:]
            self.handle(req)

    def handle(self, req):
        rid = req.get("id")
        fid = req.get("fn")
        timeout = float(req.get("timeout") or 30)
        entry = BRIDGE.registry.get(fid)
        if entry is None:
            self.send({"id": rid, "ok": False, "error": {"type": "LookupError", "message": "function %s is no longer defined by the config file" % fid,
                                                          "file": None, "line": None, "function": fid}})
            return
        objs = []
        args = []
        for i, a in enumerate(req.get("args") or []):
            x = _decode(a, None, i)
            args.append(x)
            objs.append(x if isinstance(x, _Obj) else None)
        self_obj = None
        if isinstance(entry, _Method):
            self_obj = _make_self(entry.cls, req.get("self") or {})
            target = getattr(entry.cls, entry.name)
            fn = getattr(self_obj, entry.name)
            name = "%s.%s" % (entry.cls.__qualname__, entry.name)
        else:
            fn = target = entry
            t = getattr(entry, "func", entry)
            name = getattr(t, "__qualname__", None) or getattr(t, "__name__", None) or type(entry).__name__
        fallback = _source_line(getattr(target, "func", target))

        def reply(result):
            out = {"id": rid, "ok": True, "value": encode(result),
                   "objs": [None if o is None else _obj_attrs(o) for o in objs]}
            if self_obj is not None:
                out["self"] = {k: encode(x) for k, x in vars(self_obj).items() if not k.startswith("_")}
            self.send(out)

        def fail(e):
            self.send({"id": rid, "ok": False, "error": _error(e, name, fallback)})

        try:
            self.in_call = True
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result = fn(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.in_call = False
        except _HookTimeout as e:
            e.args = ("did not return within %g s" % timeout,)
            e._jhub_timeout = True
            fail(e)
            return
        except BaseException as e:  # noqa: B902 - report everything to jhub
            fail(e)
            return
        if inspect_isawaitable(result):
            async def run():
                try:
                    value = await self.asyncio.wait_for(result, timeout)
                except self.asyncio.TimeoutError as e:
                    e.args = ("did not return within %g s" % timeout,)
                    e._jhub_timeout = True
                    fail(e)
                    return
                except BaseException as e:  # noqa: B902
                    fail(e)
                    return
                try:
                    reply(value)
                except BaseException as e:  # noqa: B902
                    fail(e)
            self.loop.create_task(run())
            return
        try:
            reply(result)
        except BaseException as e:  # noqa: B902
            fail(e)


def inspect_isawaitable(x):
    return hasattr(x, "__await__") and not isinstance(x, type)


def _watch_parent(fd):
    """Exit when jhub goes away: our copy of its pipe reaches end of file."""
    def run():
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        os._exit(0)
    threading.Thread(target=run, daemon=True).start()

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
    bridge_dir = os.environ.pop("JHUB_PYBRIDGE_DIR", None)
    restart = os.environ.pop("JHUB_PYBRIDGE_RESTART", None) == "1"
    if bridge_dir:
        # serve mode is possible: keep jhub's pipe (stdin) to notice when jhub goes away,
        # and give the config file /dev/null as stdin as before
        BRIDGE.enabled = True
        parent_fd = os.dup(0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        _watch_parent(parent_fd)
    out = None if restart else os.fdopen(3, "w")
    spec = json.loads(os.environ.pop("JHUB_PYCONFIG_STANDINS", "[]"))
    version = os.environ.pop("JHUB_PYCONFIG_VERSION", "5.3.0")
    _build_standins(spec, version)
    _install_standin_methods()
    # First on sys.meta_path: even where the Python jupyterhub/oauthenticator packages are
    # installed (e.g. for jupyterhub-singleuser), the config sees jhub's stand-ins, so that its
    # classes and subclasses mean jhub's classes.
    sys.meta_path.insert(0, _StandinFinder())
    # do not let jhub's own source directory shadow modules
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.argv = ["jupyterhub"]
    c = Config()

    def report(obj):
        if out is None:
            if not obj.get("ok"):
                sys.stderr.write("jhub python bridge: %s\n" % obj["error"]["message"])
                sys.exit(1)
            return
        json.dump(obj, out)
        out.close()

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
        report({"ok": False, "error": {"file": file, "line": line, "message": msg, "type": type(e).__name__}})
        return
    try:
        data = dump_config(c)
    except Exception as e:
        report({"ok": False, "error": {"file": None, "line": None, "message": "cannot encode config: %s" % e,
                                       "type": type(e).__name__}})
        return
    serve = BRIDGE.enabled and bool(BRIDGE.registry)
    report({"ok": True, "files": sorted(CONFIG_FILES), "config": data, "warnings": WARNINGS, "serve": serve})
    if serve:
        sys.stdout.flush()
        _Server(bridge_dir).start()


if __name__ == "__main__":
    main(sys.argv[1])
