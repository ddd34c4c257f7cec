"""The Jinja environment: the default theme, overridable template by template from a user folder.

Autoescaping is on for every template; values that are already HTML (post text with its entities,
charts) arrive as :class:`markupsafe.Markup` built by this package.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    meta,
    select_autoescape,
)
from markupsafe import Markup

from tgvault.export.site.card_html import card_html
from tgvault.export.site.options import SiteError, SiteOptions
from tgvault.export.site.views import CardView

PACKAGE = "tgvault.export.site"
STATIC_FILES = ("site.css", "site.js", "search.js", "noscript.css", "favicon.svg")


def static_files() -> dict[str, bytes]:
    """The theme's bundled assets (CSS and JavaScript), by file name."""
    folder = resources.files(PACKAGE).joinpath("static")
    return {name: folder.joinpath(name).read_bytes() for name in STATIC_FILES}


def _fingerprint_tree(hasher: Any, root: Path) -> None:
    """Hash every file under ``root`` (but ``__pycache__``): its path and bytes, in path order.

    Every build does this over the theme's package; ``os.walk`` finds the files at a third of
    ``Path.rglob``'s cost."""
    found: list[tuple[str, ...]] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        inside = os.path.relpath(folder, root)
        parts = () if inside == os.curdir else tuple(inside.split(os.sep))  # noqa: PTH206
        found.extend(
            (*parts, name)
            for name in names
            if os.path.isfile(os.path.join(folder, name))  # noqa: PTH113, PTH118
        )
    for parts in sorted(found):  # as sorted paths go: part by part
        hasher.update("/".join(parts).encode("utf-8", "surrogateescape"))
        with open(os.path.join(root, *parts), "rb") as stream:  # noqa: PTH118
            hasher.update(stream.read())


class _CompiledTemplates(FileSystemBytecodeCache):
    """Compiled templates kept between processes, in Jinja's own per-user folder of the temp
    directory (created 0700 and refused when another user owns it), checked against each template's
    source. Best effort: a cache that cannot be written is skipped, never a failed build."""

    def dump_bytecode(self, bucket: Any) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates() -> BytecodeCache | None:
    try:
        return _CompiledTemplates()
    except (OSError, RuntimeError):  # no usable temp folder: compile each time
        return None


class Renderer:
    """Renders the site's templates; user templates (``options.templates_dir``) win by name."""

    def __init__(self, options: SiteOptions) -> None:
        loaders: list[Any] = []
        self._user_dir = options.templates_dir
        if self._user_dir is not None:
            if not self._user_dir.is_dir():
                raise SiteError(f"the templates folder {self._user_dir} does not exist")
            loaders.append(FileSystemLoader(str(self._user_dir)))
        loaders.append(PackageLoader(PACKAGE, "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
            bytecode_cache=_compiled_templates(),  # compiling the theme costs about 70 ms a build
        )
        self.env.globals["site_title"] = options.title
        self._card_macro: Any = None
        self._macros: Any = None
        self._user_card = self._user_dir is not None and (self._user_dir / "_card.html").is_file()
        # The theme's card is written in Python (card_html.py) unless the user's templates change it.
        self._user_macros = self._user_dir is not None and (self._user_dir / "_macros.html").is_file()

    @property
    def theme_macros(self) -> bool:
        """True when the macros are the theme's own (no ``_macros.html`` in the user's templates), so a
        macro written in Python (the card, the month navigator) gives the same bytes."""
        return not self._user_macros

    def render(self, template: str, **context: Any) -> str:
        """Render one template; raises :class:`SiteError` naming the template when it fails."""
        try:
            return self.env.get_template(template).render(**context)
        except TemplateError as exc:
            raise SiteError(f"template {template} failed: {exc}") from exc

    def card(self, view: CardView) -> str:
        """One post card: the theme's card written in Python (:func:`card_html`, the same bytes as its
        ``post_card`` macro); a user's own ``_card.html`` is rendered as a template, a user's own
        ``_macros.html`` by calling its ``post_card`` macro."""
        if self._user_card:
            return self.render("_card.html", c=view)
        if not self._user_macros:
            return card_html(view)
        return self.macro_card(view)

    def macro_card(self, view: CardView) -> str:
        """One post card through the ``post_card`` macro of ``_macros.html`` (the theme's or the user's)."""
        try:
            if self._card_macro is None:
                self._card_macro = self.env.get_template("_macros.html").module.post_card  # type: ignore[attr-defined]
            return str(self._card_macro(view))
        except TemplateError as exc:
            raise SiteError(f"template _macros.html failed: {exc}") from exc

    def macro(self, name: str, *args: Any) -> Markup:
        """The output of a macro of ``_macros.html`` (the theme's or the user's), called from Python."""
        try:
            if self._macros is None:
                self._macros = self.env.get_template("_macros.html").module
            return Markup(getattr(self._macros, name)(*args))  # noqa: S704 - a template's output
        except TemplateError as exc:
            raise SiteError(f"template _macros.html failed: {exc}") from exc

    def reads_variable(self, template: str, name: str) -> bool:
        """Whether ``template``, or a template it extends, includes or imports, reads ``name`` from its
        context (True when that cannot be told: a template named by a variable, one that fails to parse)."""
        loader = self.env.loader
        seen: set[str] = set()
        todo = [template]
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            try:
                if loader is None:
                    return True
                source = loader.get_source(self.env, current)[0]
                tree = self.env.parse(source)
            except TemplateError:
                return True
            if name in meta.find_undeclared_variables(tree):
                return True
            for referenced in meta.find_referenced_templates(tree):
                if referenced is None:
                    return True
                todo.append(referenced)
        return False

    def engine_hash(self) -> str:
        """A hash of what shapes the output besides the archive: this package and the user templates."""
        hasher = hashlib.blake2b(digest_size=12)
        package_root = Path(str(resources.files(PACKAGE)))
        _fingerprint_tree(hasher, package_root)
        if self._user_dir is not None:
            hasher.update(b"user-templates")
            _fingerprint_tree(hasher, self._user_dir)
        return hasher.hexdigest()
