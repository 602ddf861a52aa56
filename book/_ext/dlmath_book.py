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

And what makes the book read as a book (issue 18):

- nbgrader's markers leave the rendered code: ``### BEGIN SOLUTION`` /
  ``### END SOLUTION`` lines and whole ``### BEGIN HIDDEN TESTS`` blocks are
  removed from every code cell shown (the notebooks keep them for nbgrader);
- exercises are numbered by their labels: ``ex-7-3`` is "Exercise 7.3", the
  number the check prints;
- an output holding ✓ check lines gets the class ``dlmath-checks`` (each line
  ``dlmath-check``, its numbers unbreakable), and ``[eq-label]`` in a check line
  becomes "eq. (N)" linked to the equation;
- the directive ``dlmath-verified-equations`` writes the *Verified equations*
  appendix from the stored outputs of every notebook of the toc.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes

sys.path.insert(0, str(Path(__file__).parent))
import dlmath_equations as eqs  # noqa: E402

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?"
                    r"^[ \t]*### END HIDDEN TESTS[ \t]*(?:\n|\Z)", re.M | re.S)
SOLUTION_MARKER = re.compile(r"^[ \t]*### (?:BEGIN|END) SOLUTION[ \t]*(?:\n|\Z)", re.M)
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def strip_grading_markers(source: str) -> str:
    """A code cell as the reader sees it: no hidden tests, no solution markers."""
    return SOLUTION_MARKER.sub("", HIDDEN.sub("", source)).rstrip("\n")


def _clean_code_cells(doctree) -> None:
    for container in doctree.findall(nodes.container):
        if "cell_input" not in container.get("classes", []):
            continue
        for block in container.findall(nodes.literal_block):
            text = block.astext()
            new = strip_grading_markers(text)
            if new != text:
                block.children = [nodes.Text(new)]
                block.rawsource = new


def _check_line_nodes(line: str, docname: str) -> nodes.inline:
    """One ✓ line: numbers unbreakable, ``[eq-label]`` as "eq. (N)" with a link."""
    out = nodes.inline(classes=["dlmath-check"])
    pos = 0
    for m in re.finditer(r"\[(eq-[\w-]+)\] |" + NUMBER.pattern, line):
        if m.start() > pos:
            out += nodes.Text(line[pos:m.start()])
        if m.group(1):
            out += nodes.Text("eq. ")
            out += addnodes.pending_xref(
                "", nodes.Text(m.group(1)), refdomain="math", reftype="eq",
                reftarget=m.group(1), refdoc=docname, refexplicit=False,
                refwarn=True)
            out += nodes.Text(" ")
        else:
            out += nodes.inline(m.group(0), m.group(0), classes=["dlmath-num"])
        pos = m.end()
    if pos < len(line):
        out += nodes.Text(line[pos:])
    return out


def _style_check_outputs(doctree, docname: str) -> None:
    for container in doctree.findall(nodes.container):
        if "cell_output" not in container.get("classes", []):
            continue
        for block in container.findall(nodes.literal_block):
            text = block.astext()
            lines = text.split("\n")
            if "\x1b" in text or not any(ln.startswith("✓ ") for ln in lines):
                continue
            children = []
            for k, line in enumerate(lines):
                if k:
                    children.append(nodes.Text("\n"))
                children.append(_check_line_nodes(line, docname)
                                if line.startswith("✓ ") else nodes.Text(line))
            block.children = children
            block.rawsource = ""          # a parsed literal: no highlighting
            block["classes"] += ["dlmath-checks"]


def on_doctree_read(app, doctree) -> None:
    docname = app.env.docname
    _clean_code_cells(doctree)
    if app.builder.format == "html":   # LaTeX (make pdf) prints check lines as is
        _style_check_outputs(doctree, docname)


def title_pitfalls(app, doctree) -> None:
    """A ``{warning} Pitfall`` box (BRIEF convention 4) is titled "Pitfall".

    docutils' ``warning`` takes no title, so MyST puts the word into the body
    ("Warning / Pitfall Eigenvectors are ..."); make it the box's own title,
    keeping the warning's colours and icon.
    """
    for box in list(doctree.findall(nodes.warning)):
        first = box.children[0] if box.children else None
        text = first.children[0] if isinstance(first, nodes.paragraph) and \
            first.children else None
        if not isinstance(text, nodes.Text) or not re.match(r"Pitfall\b", text):
            continue
        rest = re.sub(r"^Pitfall\s*", "", str(text))
        if rest:
            first.replace(text, nodes.Text(rest))
        else:
            first.remove(text)
        if not first.children:
            box.remove(first)
        classes = ["warning", "dlmath-pitfall"] + box["classes"]
        titled = nodes.admonition("", nodes.title("", "Pitfall"), *box.children,
                                  classes=classes)
        titled.source, titled.line = box.source, box.line
        box.replace_self(titled)


def number_exercises_by_label(app, env) -> list:
    """"Exercise 7.3" for the exercise labelled ``ex-7-3``, whatever its page."""
    for numbers in env.toc_fignumbers.values():
        for node_id in list(numbers.get("exercise", {})):
            m = re.fullmatch(r"ex-(\d+)-(\d+)", node_id)
            if m:
                numbers["exercise"][node_id] = (int(m[1]), int(m[2]))
    return []


# ------------------------------------------------------- the Verified equations page
def _toc_notebooks(root: Path) -> list[str]:
    import yaml

    def files(node) -> list[str]:
        if isinstance(node, dict):
            return sum((([v] if k in ("file", "root") else files(v))
                        for k, v in node.items()), [])
        if isinstance(node, list):
            return sum((files(x) for x in node), [])
        return []

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [f for f in files(toc) if (root / (f + ".ipynb")).exists()]


def verified_equations(root: Path) -> dict:
    """Every check line naming an equation, and the counts, from the stored outputs."""
    rows, labels, markers = [], {}, {"definition": 0, "step": 0}
    for doc in _toc_notebooks(root):
        nb = json.loads((root / (doc + ".ipynb")).read_text(encoding="utf-8"))
        for e in eqs.notebook_equations(nb):
            labels[e.label] = doc
            if e.marker:
                markers[e.marker] += 1
        for c in nb["cells"]:
            for o in c.get("outputs", []) if c["cell_type"] == "code" else []:
                for line in "".join(o.get("text", "")).splitlines():
                    m = eqs.CHECK.match(line.strip())
                    if m and m["eq"]:
                        rows.append(dict(m.groupdict(), doc=doc))
    verified = {r["eq"] for r in rows if r["eq"] in labels}
    return {"rows": rows, "labels": labels, "verified": verified,
            "definitions": markers["definition"], "steps": markers["step"]}


class VerifiedEquations(Directive):
    """The table of every check that verifies a labelled equation."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        root = Path(env.srcdir)
        for doc in _toc_notebooks(root):
            env.note_dependency(str(root / (doc + ".ipynb")))
        data = verified_equations(root)
        n_eq = len(data["labels"])
        summary = nodes.paragraph(text=(
            f"{len(data['verified'])} equations verified, {data['definitions']} "
            f"definitions, {data['steps']} derivation steps "
            f"(of {n_eq} labelled display equations; {len(data['rows'])} checks)."))
        summary["classes"].append("dlmath-verified-summary")
        table = nodes.table(classes=["dlmath-verified"])
        cols = ["Eq.", "What was computed by hand", "Against", "Max abs err",
                "Max rel err", "Tolerance (rtol, atol)", "Page"]
        group = nodes.tgroup(cols=len(cols))
        table += group
        for width in (6, 30, 26, 8, 8, 10, 20):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row([nodes.Text(c) for c in cols])
        body = nodes.tbody()
        group += body

        html = env.app.builder.format == "html"

        def num(text: str) -> nodes.Node:
            if not html:               # LaTeX: a class on an inline breaks \DUrole
                return nodes.Text(text)
            return nodes.inline(text, text, classes=["dlmath-num"])

        for r in data["rows"]:
            eq = addnodes.pending_xref(
                "", nodes.Text(r["eq"]), refdomain="math", reftype="eq",
                reftarget=r["eq"], refdoc=env.docname, refexplicit=False,
                refwarn=True)
            page = addnodes.pending_xref(
                "", nodes.inline(text="/" + r["doc"]), refdomain="std", reftype="doc",
                reftarget="/" + r["doc"], refdoc=env.docname, refexplicit=False,
                refwarn=True)
            body += self._row([eq, nodes.Text(r["name"]), nodes.literal(
                text=r["against"]), num(r["abs"]), num(r["rel"] or "–"),
                num(f"{r['rtol']}, {r['atol']}"), page])
        return [summary, table] if data["rows"] else [summary]

    @staticmethod
    def _row(cells) -> nodes.row:
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", c)
            row += entry
        return row


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


# --------------------------------------------------- speed tables from performance.json
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tools.bench import kernel_target  # noqa: E402


class KernelRatios(Directive):
    """``{dlmath-kernel-ratios}`` with ``:module: conv`` (comma-separated): the
    ratios of book/_data/performance.json for those benchmark modules, one row per
    kernel, float64 and float32 side by side, each against its target; a ratio
    above target is flagged. ``make bench`` refreshes the data; nothing is typed."""

    has_content = False
    option_spec = {"module": lambda x: [m.strip() for m in x.split(",")]}

    def run(self):
        env = self.state.document.settings.env
        path = Path(env.srcdir) / "book" / "_data" / "performance.json"
        env.note_dependency(str(path))
        data = json.loads(path.read_text(encoding="utf-8"))
        modules = self.options.get("module")
        rows: dict[str, dict] = {}
        for k in data.get("kernels", []):
            if modules and k.get("module") not in modules:
                continue
            rows.setdefault(k["name"], {})[k.get("dtype", "")] = k
        table = nodes.table(classes=["dlmath-ratios"])
        group = nodes.tgroup(cols=3)
        table += group
        for width in (50, 25, 25):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += VerifiedEquations._row([nodes.Text(t) for t in (
            "kernel (forward + backward unless said)", "float64: ratio (target)",
            "float32: ratio (target)")])
        body = nodes.tbody()
        group += body
        above = 0
        for name, by_dtype in rows.items():
            cells = [nodes.Text(name)]
            for dtype in ("float64", "float32"):
                k = by_dtype.get(dtype)
                if k is None or "ratio" not in k:
                    cells.append(nodes.Text("not measured" if k is None else "failed"))
                    continue
                t = kernel_target(k)
                text = f"{k['ratio']:.2f} ({t:g})"
                if k["ratio"] > t:
                    above += 1
                    cell = nodes.strong(text=text + " above target")
                    cell["classes"].append("dlmath-above-target")
                else:
                    cell = nodes.Text(text)
                cells.append(cell)
            body += VerifiedEquations._row(cells)
        m = data.get("kernels_machine") or data.get("machine") or {}
        note = nodes.paragraph(text=(
            f"numpy time / torch time, lower is faster, measured {m.get('date', '?')} "
            f"on {m.get('cores', '?')} cores (load average {m.get('load_average')}) "
            f"by make bench; {above} ratio(s) above target."))
        return [table, note]


def setup(app):
    app.connect("html-page-context", dedupe_assets, priority=900)
    app.connect("doctree-read", on_doctree_read)
    app.connect("doctree-read", title_pitfalls)
    # after Sphinx's own numbering (TocTreeCollector, priority 500)
    app.connect("env-get-updated", number_exercises_by_label, priority=900)
    app.add_directive("dlmath-verified-equations", VerifiedEquations)
    app.add_directive("dlmath-kernel-ratios", KernelRatios)
    # Before MathJax and the widget manager (priority 500 and up).
    app.add_js_file("dlmath-book.js", priority=200)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
