"""Every public function, class and method of moopt, problems and recommenders has a
numpydoc docstring: a summary, every parameter documented (and none that does not
exist), and a Returns section where it returns a value. The API pages of the site are
drawn from these docstrings (docs/api/)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import pytest

validate = pytest.importorskip("numpydoc.validate").validate

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("moopt", "problems", "recommenders")
# numpydoc's codes we hold every public object to: GL08 no docstring, SS01 no summary,
# PR01 a parameter not documented, PR02 a documented parameter that does not exist,
# RT01 no Returns section (numpydoc asks only where the source returns a value).
ENFORCED = frozenset({"GL08", "SS01", "PR01", "PR02", "RT01"})
# docstring sections whose entries the API pages look up as members by name
MEMBER_SECTIONS = frozenset({"attributes", "functions", "classes", "modules", "type aliases"})


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


def modules(package: str) -> list:
    """The package and every submodule on a path without a leading underscore."""
    root = importlib.import_module(package)
    names = [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
    return [root] + [importlib.import_module(n) for n in names if not _private(n)]


def public_names(package: str) -> Iterator[str]:
    """Dotted names of the public functions and classes defined (not re-exported) in each
    module, and of the methods (plain, static, class) defined in each such class's body.
    ``__init__`` is left out: numpydoc documents its arguments in the class docstring."""
    for module in modules(package):
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            yield f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    method = inspect.isfunction(value) or isinstance(
                        value, (staticmethod, classmethod))
                    if method and not attr.startswith("_"):
                        yield f"{module.__name__}.{name}.{attr}"


def _foreign_init(name: str) -> bool:
    """Whether ``name`` is a class whose ``__init__`` comes from outside the three packages
    (``torch.nn.Module``'s, a ``Protocol``'s, a pymoo base class's): its arguments are
    that library's to document, and the API pages, which read the signature from our
    sources, could not match a Parameters section against it."""
    module, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr, None)
    except ImportError:  # a method: its "module" is a class
        return False
    if not inspect.isclass(obj):
        return False
    owner = getattr(obj.__init__, "__module__", None) or ""
    return owner.split(".")[0] not in PACKAGES


def failures(package: str) -> list[str]:
    """``name: CODE message; ...`` for each public object that breaks an enforced rule
    (a class with another library's ``__init__`` is not asked to document its arguments)."""
    out = []
    for name in public_names(package):
        skip = {"PR01", "PR02"} if _foreign_init(name) else set()
        errors = [f"{code}: {msg}" for code, msg in validate(name)["errors"]
                  if code in ENFORCED - skip]  # fmt: skip
        if errors:
            out.append(f"{name}: {'; '.join(errors)}")
    return out


def test_the_walk_finds_public_objects_and_skips_private_ones():
    names = set(public_names("moopt"))
    assert {"moopt.compare.compare", "moopt.engine.result.RerankResult",
            "moopt.engine.result.RerankResult.choose", "moopt.stats.holm"} <= names
    assert not any(_private(n) for n in names)
    assert "moopt.engine.rerank.RerankResult" not in names  # re-exported, not defined there


@pytest.mark.parametrize("package", PACKAGES)
def test_public_docstrings_follow_numpydoc(package):
    bad = failures(package)
    assert not bad, f"{len(bad)} public objects of {package} fail numpydoc:\n" + "\n".join(bad)


def unnamed_entries(package: str) -> list[str]:
    """Objects whose docstring, parsed as the API pages parse it (griffe, numpy style),
    has an Attributes (or Methods, Classes, ...) entry without a name, such as a trailing
    paragraph with a colon in that section. mkdocstrings looks each entry up as a member
    and stops the site build on an empty name with an error naming only the page; this
    names the object."""
    griffe = pytest.importorskip("griffe")
    root = griffe.load(package, search_paths=[str(ROOT)], docstring_parser="numpy")
    bad, todo = [], [root]
    while todo:
        obj = todo.pop()
        if obj.is_alias:
            continue
        todo.extend(obj.members.values())
        if obj.docstring is None:
            continue
        for section in obj.docstring.parse("numpy", warnings=False):
            if section.kind.value in MEMBER_SECTIONS and any(
                    getattr(entry, "name", "x") == "" for entry in section.value):  # fmt: skip
                bad.append(f"{obj.path}: an unnamed entry in its {section.kind.value} section")
    return sorted(bad)


@pytest.mark.parametrize("package", PACKAGES)
def test_docstring_sections_render_on_the_site(package):
    bad = unnamed_entries(package)
    assert not bad, "\n".join(bad)
