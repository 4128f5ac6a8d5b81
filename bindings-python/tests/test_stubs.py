"""Drift test of the committed type stubs: every public name, property and parameter list in `_native.pyi` and
`_client.pyi` must match the built module and the Python layer, in both directions."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Dict, List, Tuple

import allowly
from allowly import _client, _native

PACKAGE = Path(allowly.__file__).parent
Params = List[Tuple[str, str, bool]]  # (name, kind, has default)


def stub_params(fn: ast.FunctionDef) -> Params:
    a = fn.args
    out: Params = []
    positional = a.posonlyargs + a.args
    defaults = [False] * (len(positional) - len(a.defaults)) + [True] * len(a.defaults)
    for arg, has_default in zip(positional, defaults):
        kind = "POSITIONAL_ONLY" if arg in a.posonlyargs else "POSITIONAL_OR_KEYWORD"
        out.append((arg.arg, kind, has_default))
    if a.vararg:
        out.append((a.vararg.arg, "VAR_POSITIONAL", False))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        out.append((arg.arg, "KEYWORD_ONLY", default is not None))
    if a.kwarg:
        out.append((a.kwarg.arg, "VAR_KEYWORD", False))
    return [p for p in out if p[0] != "self"]


def runtime_params(obj: object) -> Params:
    sig = inspect.signature(obj)  # type: ignore[arg-type]
    return [
        (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
        for p in sig.parameters.values()
        if p.name != "self"
    ]


def stub_classes(path: Path) -> Tuple[Dict[str, ast.ClassDef], Dict[str, ast.FunctionDef]]:
    tree = ast.parse(path.read_text())
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return classes, functions  # type: ignore[return-value]


def stub_constants(path: Path) -> Dict[str, str]:
    """Module-level `NAME: type` declarations: constants the module exports."""
    tree = ast.parse(path.read_text())
    return {
        n.target.id: ast.unparse(n.annotation)
        for n in tree.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
        and not n.target.id.startswith("__")
    }


def members(cls: ast.ClassDef) -> Tuple[Dict[str, ast.FunctionDef], set, Dict[str, str]]:
    methods, properties, attributes = {}, set(), {}
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
                properties.add(node.name)
            else:
                methods[node.name] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            attributes[node.target.id] = ast.unparse(node.annotation)
    return methods, properties, attributes  # type: ignore[return-value]


def public(names) -> set:
    return {n for n in names if not n.startswith("_") or n in ("__len__", "__init__", "__getitem__")}


def test_native_stub_matches_module() -> None:
    classes, functions = stub_classes(PACKAGE / "_native.pyi")
    runtime = {n for n in dir(_native) if not n.startswith("__")}
    constants = stub_constants(PACKAGE / "_native.pyi")
    assert set(classes) | set(functions) | set(constants) == runtime
    for name, annotation in constants.items():
        assert type(getattr(_native, name)).__name__ == annotation, name
    for name, fn in functions.items():
        assert stub_params(fn) == runtime_params(getattr(_native, name)), name
    for name, cls in classes.items():
        runtime_cls = getattr(_native, name)
        methods, properties, _ = members(cls)
        own = vars(runtime_cls)
        runtime_props = {n for n, v in own.items() if inspect.isgetsetdescriptor(v) and not n.startswith("_")}
        runtime_methods = public(n for n, v in own.items() if callable(v) and not inspect.isgetsetdescriptor(v))
        if "__init__" in methods:  # pyo3 exposes the constructor's signature on the class
            runtime_methods.add("__init__")
            assert stub_params(methods["__init__"]) == runtime_params(runtime_cls), f"{name}.__init__"
        assert properties == runtime_props, name
        assert set(methods) == runtime_methods, name
        for method, fn in methods.items():
            if method != "__init__" and not method.startswith("__"):
                assert stub_params(fn) == runtime_params(getattr(runtime_cls, method)), f"{name}.{method}"


def test_client_stub_matches_python_layer() -> None:
    classes, _ = stub_classes(PACKAGE / "_client.pyi")
    for client_name, is_async in (("Allowly", True), ("SyncAllowly", False)):
        stub = classes[client_name]
        runtime_cls = getattr(_client, client_name)
        methods, properties, attributes = members(stub)
        assert stub_params(methods["__init__"]) == runtime_params(runtime_cls.__init__), client_name
        for prop in properties:
            assert isinstance(inspect.getattr_static(runtime_cls, prop), property), (client_name, prop)
        runtime_public = {n for n in dir(runtime_cls) if not n.startswith("_")}
        assert runtime_public == {n for n in set(methods) | properties if not n.startswith("_")}, client_name
        for method, fn in methods.items():
            if method == "__init__":
                continue
            awaitable = is_async and method in ("check", "readiness", "aclose", "__aenter__", "__aexit__")
            assert isinstance(fn, ast.AsyncFunctionDef) == awaitable, (client_name, method)
            assert stub_params(fn) == runtime_params(getattr(runtime_cls, method)), f"{client_name}.{method}"
        # Namespaces: the attribute's stub class against the runtime namespace object.
        instance = runtime_cls(api_key="allowly_rt_" + "0" * 32, base_url="https://example.invalid")
        try:
            # A namespace may hold namespaces of its own (`admin.api_keys`); `iter` returns an iterator, never
            # an awaitable.
            namespaces = [(attribute, stub_class, getattr(instance, attribute)) for attribute, stub_class in attributes.items()]
            while namespaces:
                attribute, stub_class, runtime_ns = namespaces.pop()
                ns_methods, _, ns_attributes = members(classes[stub_class])
                public = {n for n in dir(runtime_ns) if not n.startswith("_")}
                assert public == set(ns_methods) | set(ns_attributes), attribute
                namespaces.extend((f"{attribute}.{a}", c, getattr(runtime_ns, a)) for a, c in ns_attributes.items())
                for method, fn in ns_methods.items():
                    awaitable = is_async and method != "iter"
                    assert isinstance(fn, ast.AsyncFunctionDef) == awaitable, (stub_class, method)
                    assert stub_params(fn) == runtime_params(getattr(runtime_ns, method)), f"{stub_class}.{method}"
            assert set(attributes) == {n for n, v in vars(instance).items() if not n.startswith("_")}
        finally:
            instance.close()


def test_top_level_exports_exist() -> None:
    for name in allowly.__all__:
        assert hasattr(allowly, name), name
