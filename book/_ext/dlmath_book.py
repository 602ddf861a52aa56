"""Small Sphinx fixes so that every page reads cleanly in a browser, offline.

tests/test_browser.py opens every page in headless Chromium and fails on any
console error; these are the fixes for what it found in the theme's output:

- the same inline script added twice to each page (sphinx-thebe's
  ``const THEBE_JS_URL = ...`` then throws "already been declared");
- pydata-sphinx-theme's "Got invalid theme mode" on a first visit (no mode
  saved yet, and sphinx-book-theme has no ``default_mode`` option);
- the widget manager (``@jupyter-widgets/html-manager``) typesets widget labels
  with MathJax 2's ``MathJax.Hub.Queue`` and loads its icon fonts from a path
  relative to the page.

``_static/dlmath-book.js`` fixes the theme mode and MathJax in the page;
``_point_widget_assets_home`` the fonts.
"""
from __future__ import annotations

import json


def _key(asset) -> tuple:
    attrs = getattr(asset, "attributes", {}) or {}
    # An inline script has filename None or "" depending on who added it.
    return (str(getattr(asset, "filename", asset) or ""),
            json.dumps(attrs, sort_keys=True, default=str))


def dedupe_assets(app, pagename, templatename, context, doctree) -> None:
    for name in ("script_files", "css_files"):
        assets = context.get(name)
        if not assets:
            continue
        seen, unique = set(), []
        for a in assets:
            k = _key(a)
            if k not in seen:
                seen.add(k)
                unique.append(a)
        assets[:] = unique
    _point_widget_assets_home(context)


def _point_widget_assets_home(context) -> None:
    """Before require.js: map the widget manager's asset path to the vendored copy.

    html-manager loads its icon fonts relative to the URL of whichever of its
    AMD modules asks first ("@jupyter-widgets/html-manager/dist/",
    "@jupyter-widgets/"), relative to the page, where nothing is; requirejs
    ``paths`` entries (the global ``require`` config that require.js reads when
    it loads) put those URLs in ``_static/vendor/html-manager/``, where the
    fonts are.
    """
    scripts = context.get("script_files") or []
    for i, js in enumerate(scripts):
        if str(getattr(js, "filename", "") or "").endswith("require.js"):
            home = context["pathto"]("_static/vendor/html-manager", 1)
            # Each module's assets are loaded relative to its own URL: map every
            # module the manager defines into the vendored folder.
            paths = {f"@jupyter-widgets/{m}": f"{home}/{m.split('/')[0]}"
                     for m in ("base", "controls", "html-manager")}
            paths["@jupyter-widgets/html-manager/dist"] = home
            body = f"var require = {{paths: {json.dumps(paths)}}};"
            scripts.insert(i, type(js)(None, priority=js.priority, body=body))
            return


def setup(app):
    app.connect("html-page-context", dedupe_assets, priority=900)
    # Before MathJax and the widget manager (priority 500 and up).
    app.add_js_file("dlmath-book.js", priority=200)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
