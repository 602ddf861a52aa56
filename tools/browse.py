"""Read the built book as a reader does: every page in headless Chromium, offline.

    python tools/browse.py                     # every page of _build/html
    python tools/browse.py --shots _build/screenshots chapters/01_linear_algebra/index

Serves ``_build/html`` on 127.0.0.1 and opens each page in Debian's
``chromium`` with every other host unreachable, driven over the Chrome DevTools
Protocol with nothing but the standard library (a small WebSocket client is
below). For each page it reports what a reader would see go wrong:

- raw TeX in visible text outside typeset math and code (``$``, ``\\mathbf``, ...);
- a MathJax error, or math left untypeset;
- an error in the console, an uncaught exception, a request that failed;
- an image that does not load;
- a saved widget that is not drawn;
- a notebook page without its Colab link;
- (``overflow``, measured at 1400 px and 420 px wide) a display equation wider
  than its column, or a page that scrolls sideways.

``tests/test_browser.py`` runs this on every page of the book.
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
COLAB = "https://colab.research.google.com/github/"


# --------------------------------------------------------------------------- WebSocket
class WebSocket:
    """A minimal RFC 6455 client: text frames out (masked) and in; enough for CDP."""

    def __init__(self, url: str, timeout: float = 120.0):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n"
                           ).encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        if b" 101 " not in status:
            raise ConnectionError(f"WebSocket handshake with {url} failed: {status!r}")
        while self.file.readline() not in (b"\r\n", b""):
            pass

    def send(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big") if n else b""
        self.sock.sendall(head + mask + masked)

    def recv(self) -> str:
        """The next text message (continuation frames joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else b""
            data = self._read(n)
            if mask:
                data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
            if opcode == 0x8:
                raise ConnectionError("the browser closed the DevTools connection")
            if opcode == 0x9:
                self._send_frame(0xA, data)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(data)
                if b0 & 0x80:
                    return b"".join(parts).decode()

    def _read(self, n: int) -> bytes:
        data = self.file.read(n)
        if len(data) < n:
            raise ConnectionError("the DevTools connection closed")
        return data

    def close(self) -> None:
        try:
            self._send_frame(0x8, b"")
        except OSError:
            pass
        self.sock.close()


class Tab:
    """One browser tab over CDP: ``call`` a method, keep every event it sends."""

    def __init__(self, ws_url: str):
        self.ws = WebSocket(ws_url)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, timeout: float = 60.0, **params) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(f"{method} took more than {timeout} s")


# --------------------------------------------------------------------------- browser
def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """Headless Chromium that can reach 127.0.0.1 and nothing else."""

    def __init__(self, binary: str | None = None):
        binary = binary or chromium_path()
        if binary is None:
            raise FileNotFoundError("no chromium: apt-get install chromium")
        self.profile = tempfile.mkdtemp(prefix="dlmath-chromium-")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
             f"--user-data-dir={self.profile}", "--window-size=1280,900",
             "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        self.http = None
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            if line.startswith("DevTools listening on ws://"):
                self.http = "http://" + urlparse(line.split()[-1]).netloc
                break
        if self.http is None:
            self.close()
            raise RuntimeError("chromium did not start its DevTools endpoint")
        # Keep draining stderr so the browser never blocks on a full pipe.
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def new_tab(self) -> tuple[str, Tab]:
        req = urllib.request.Request(f"{self.http}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(req, timeout=30) as r:
            info = json.load(r)
        return info["id"], Tab(info["webSocketDebuggerUrl"])

    def close_tab(self, target_id: str, tab: Tab) -> None:
        tab.ws.close()
        try:
            url = f"{self.http}/json/close/{target_id}"
            urllib.request.urlopen(url, timeout=10).read()
        except OSError:
            pass

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


class Server:
    """``python -m http.server`` on 127.0.0.1, in a thread."""

    def __init__(self, root: Path):
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


# --------------------------------------------------------------------------- the checks
# Runs in the page once it has loaded: waits for MathJax and the widget manager to
# finish (or time out), then reports what a reader would see.
PAGE_CHECK_JS = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const until = async (cond, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (cond()) return true; await sleep(100); }
    return cond();
  };
  const loaded = await until(() => document.readyState === 'complete', 60000);
  const out = {rawTex: [], mathErrors: [], untypeset: 0, brokenImages: [],
               widgetViews: 0, widgetsDrawn: 0, colabLinks: [], notes: []};
  if (!loaded) out.notes.push('the page did not finish loading in 60 s');
  const hasMath = document.querySelector('.math, div.math, span.math') !== null;
  if (hasMath) {
    const ok = await until(() => window.MathJax && MathJax.startup
                                 && MathJax.startup.promise, 20000);
    if (!ok) out.notes.push('MathJax did not start');
    else {
      try { await MathJax.startup.promise; }
      catch (e) { out.mathErrors.push('MathJax startup failed: ' + e); }
    }
  }
  const views = [...document.querySelectorAll(
      'script[type="application/vnd.jupyter.widget-view+json"]')];
  out.widgetViews = views.length;
  const drawn = s => s.parentElement &&
      s.parentElement.querySelector('.jupyter-widgets, .lm-Widget, .p-Widget') !== null;
  if (views.length) await until(() => views.every(drawn), 20000);
  out.widgetsDrawn = views.filter(drawn).length;
  for (const img of document.images) {
    if (img.loading === 'lazy') img.loading = 'eager';
  }
  await until(() => [...document.images].every(i => i.complete), 15000);
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0)
      out.brokenImages.push(img.getAttribute('src'));
  }
  for (const e of document.querySelectorAll('mjx-merror, [data-mjx-error]'))
    out.mathErrors.push(
        (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 200));
  for (const m of document.querySelectorAll('.math')) {
    if (!m.querySelector('mjx-container') && m.closest('mjx-container') === null
        && m.textContent.trim()) out.untypeset += 1;
  }
  const skip = 'mjx-container, pre, code, script, style, textarea, noscript, ' +
               'kbd, samp, .highlight, .MathJax, mjx-assistive-mml';
  const tex = /\$|\\[A-Za-z]{2,}|\\[()\[\]{},;!]|[_^]\{/;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.nodeValue;
    if (!tex.test(t)) continue;
    const el = n.parentElement;
    if (!el || el.closest(skip)) continue;
    if (el.closest('.math') && !el.closest('.math').querySelector('mjx-container')) {
      // untypeset math: counted above, but show the text too
    }
    const ctx = (el.closest('p, li, td, th, dd, dt, h1, h2, h3, h4, h5, h6, div')
                 || el).textContent.replace(/\s+/g, ' ').trim();
    out.rawTex.push({text: t.trim().slice(0, 120), context: ctx.slice(0, 240)});
  }
  for (const a of document.querySelectorAll('a[href*="colab.research.google.com"]'))
    out.colabLinks.push(a.href);
  out.title = document.title;
  // Let the page paint before a screenshot (a frame, bounded: a background tab
  // may not get one).
  await Promise.race([document.fonts.ready, sleep(3000)]);
  await Promise.race([new Promise(r => requestAnimationFrame(
      () => requestAnimationFrame(r))), sleep(1000)]);
  return JSON.stringify(out);
})()
"""


# Runs in the page at each width: display equations wider than their column (the
# theme scrolls them inside ``mjx-container``), inline math that runs past its line,
# and a page wider than the window.
OVERFLOW_JS = r"""
(async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  await new Promise(r => setTimeout(r, 300));
  const out = [];
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    if (!c.offsetParent) continue;               // hidden (a closed dropdown)
    const over = c.scrollWidth - c.clientWidth;
    if (over > 2) {
      const box = c.closest('div.math');
      const no = box && box.querySelector('.eqno');
      const label = no ? no.textContent.replace(/[^0-9.()]/g, '') :
          c.textContent.replace(/\s+/g, ' ').slice(0, 40);
      out.push(`display equation ${label} is ${over} px wider than its column`);
    }
  }
  // inline math does not break across lines: one wider than the line it sits in
  // runs past its paragraph (and is cut off inside a box that hides overflow)
  for (const c of document.querySelectorAll('mjx-container:not([display="true"])')) {
    if (!c.offsetParent || c.closest('mjx-container[display="true"], .cell_output'))
      continue;
    const block = c.parentElement.closest('p, li, td, th, dd, dt, div, section');
    if (!block) continue;
    const cs = getComputedStyle(block), r = block.getBoundingClientRect();
    const right = r.right - parseFloat(cs.paddingRight)
        - parseFloat(cs.borderRightWidth);
    const over = Math.round(c.getBoundingClientRect().right - right);
    if (over > 2) {
      const tex = (c.querySelector('mjx-assistive-mml math') || c).textContent;
      out.push(`inline math "${tex.replace(/\s+/g, ' ').slice(0, 40)}" runs ` +
               `${over} px past its line`);
    }
  }
  const page = document.scrollingElement.scrollWidth - window.innerWidth;
  if (page > 2) out.push(`the page scrolls sideways by ${page} px`);
  return JSON.stringify(out);
})()
"""
WIDTHS = (1400, 420)


@dataclass
class PageReport:
    page: str
    raw_tex: list = field(default_factory=list)
    math_errors: list = field(default_factory=list)
    untypeset: int = 0
    console_errors: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    broken_images: list = field(default_factory=list)
    widget_views: int = 0
    widgets_drawn: int = 0
    colab_links: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    overflow: list = field(default_factory=list)
    seconds: float = 0.0

    def problems(self, notebook_path: str | None = None,
                 colab_prefix: str = COLAB) -> list:
        """What a reader would see go wrong, one line each (empty: the page is fine)."""
        p = []
        p += [f"raw TeX {r['text']!r} in: {r['context']}" for r in self.raw_tex]
        p += [f"MathJax error: {e}" for e in self.math_errors]
        if self.untypeset:
            p.append(f"{self.untypeset} math element(s) left untypeset")
        p += [f"console: {e}" for e in self.console_errors]
        p += [f"request failed: {e}" for e in self.failed_requests]
        p += [f"image does not load: {s}" for s in self.broken_images]
        if self.widgets_drawn < self.widget_views:
            p.append(f"only {self.widgets_drawn} of {self.widget_views} widgets "
                     "are drawn")
        if notebook_path is not None:
            want = colab_prefix + notebook_path
            if not any(link.startswith(colab_prefix) and link.endswith(notebook_path)
                       for link in self.colab_links):
                p.append(f"no Colab link to {want}")
        p += self.notes
        return p

    def overflows(self) -> list:
        """Equations wider than their column, a page wider than the window."""
        return list(self.overflow)


def _console_text(params: dict) -> str:
    args = params.get("args", [])
    return " ".join(str(a.get("value", a.get("description", ""))) for a in args)[:300]


_FRONT = threading.Lock()  # one tab at a time in front, so that it paints


def _screenshot(tab: Tab, tries: int = 3) -> bytes:
    """A PNG of the tab's viewport; retried while it comes out blank (unpainted)."""
    png = b""
    for _ in range(tries):
        with _FRONT:
            tab.call("Page.bringToFront")
            tab.call("Runtime.evaluate", awaitPromise=True, expression=(
                "new Promise(r => requestAnimationFrame(() => "
                "requestAnimationFrame(() => setTimeout(r, 200))))"))
            png = base64.b64decode(tab.call("Page.captureScreenshot",
                                            format="png")["data"])
        if len(png) > 20_000:  # a painted page; a blank viewport is ~15 kB
            break
        time.sleep(1.0)
    return png


def measure_overflow(tab: Tab, widths=WIDTHS) -> list:
    """What does not fit at each width (the viewport emulated at that width)."""
    found = []
    for w in widths:
        tab.call("Emulation.setDeviceMetricsOverride", width=w, height=900,
                 deviceScaleFactor=1, mobile=False)
        res = tab.call("Runtime.evaluate", expression=OVERFLOW_JS, awaitPromise=True,
                       returnByValue=True, timeout=30)
        if "exceptionDetails" in res:
            found.append(f"at {w} px: could not measure ({res['exceptionDetails']})")
            continue
        found += [f"at {w} px: {o}" for o in json.loads(res["result"]["value"])]
    tab.call("Emulation.clearDeviceMetricsOverride")
    return found


def check_page(browser: Browser, url: str, page: str,
               screenshot: Path | None = None, timeout: float = 90.0,
               widths=WIDTHS) -> PageReport:
    """Open ``url`` in a fresh tab and report what a reader would see go wrong."""
    start = time.monotonic()
    target_id, tab = browser.new_tab()
    report = PageReport(page)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        tab.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while tab.call("Runtime.evaluate", expression="location.href")["result"].get(
                "value") != url and time.monotonic() < deadline:
            time.sleep(0.05)
        res = tab.call("Runtime.evaluate", timeout=timeout, expression=PAGE_CHECK_JS,
                       awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in res:
            report.notes.append(f"page check failed: {res['exceptionDetails']}")
        else:
            out = json.loads(res["result"]["value"])
            report.raw_tex = out["rawTex"]
            report.math_errors = out["mathErrors"]
            report.untypeset = out["untypeset"]
            report.broken_images = out["brokenImages"]
            report.widget_views = out["widgetViews"]
            report.widgets_drawn = out["widgetsDrawn"]
            report.colab_links = out["colabLinks"]
            report.notes += out["notes"]
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(_screenshot(tab))
        if widths:
            report.overflow = measure_overflow(tab, widths)
        tab.call("Runtime.evaluate", expression="1")  # flush pending events
    finally:
        browser.close_tab(target_id, tab)
    for e in tab.events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            report.console_errors.append(_console_text(p))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "")
            report.console_errors.append(f"uncaught {text[:300]}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            entry = p["entry"]
            if entry.get("url", "").endswith("/favicon.ico"):
                continue  # the browser's own request, not the page's
            text = f"{entry.get('text', '')} {entry.get('url', '')}"
            report.console_errors.append(text.strip()[:300])
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            report.failed_requests.append(p.get("errorText", ""))
    # A failed request is also logged to the console with its URL: keep one line each.
    if report.failed_requests and any("Failed to load resource" in c
                                      for c in report.console_errors):
        report.failed_requests = []
    report.seconds = time.monotonic() - start
    return report


def check_pages(pages: list[str], html: Path = HTML, workers: int = 2,
                shots: dict[str, Path] | None = None) -> dict[str, PageReport]:
    """Check ``pages`` (relative to ``html``, no ``.html``), ``workers`` at a time."""
    shots = shots or {}
    server = Server(html)
    browser = Browser()
    try:
        def one(page: str) -> PageReport:
            url = f"{server.url}/{page}.html"
            # A tab that stops answering the DevTools protocol (a socket timeout, seen
            # once in 79 pages on a loaded machine) is the harness's failure, not the
            # page's: check the page once more in a fresh tab before reporting it.
            for attempt in (1, 2):
                try:
                    return check_page(browser, url, page, shots.get(page))
                except (TimeoutError, ConnectionError, OSError) as exc:
                    if attempt == 2:
                        r = PageReport(page)
                        r.notes.append(f"could not check the page: {exc!r}")
                        return r
                except Exception as exc:  # one broken page must not hide the others
                    r = PageReport(page)
                    r.notes.append(f"could not check the page: {exc!r}")
                    return r
        with ThreadPoolExecutor(workers) as pool:
            return dict(zip(pages, pool.map(one, pages)))
    finally:
        browser.close()
        server.close()


def toc_pages(root: Path = ROOT) -> dict[str, str | None]:
    """Every page of ``_toc.yml`` -> its notebook's path (None if not a notebook)."""
    import yaml

    def files(node) -> list[str]:
        if isinstance(node, dict):
            return sum((([v] if k in ("file", "root") else files(v))
                        for k, v in node.items()), [])
        if isinstance(node, list):
            return sum((files(x) for x in node), [])
        return []

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    out: dict[str, str | None] = {}
    for f in files(toc):
        f = f.removesuffix(".md").removesuffix(".ipynb")
        out[f] = f + ".ipynb" if (root / (f + ".ipynb")).exists() else None
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="*", help="pages (default: every page of _toc.yml)")
    ap.add_argument("--html", type=Path, default=HTML)
    ap.add_argument("--shots", type=Path, help="save a screenshot of each page here")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    toc = toc_pages()
    pages = args.pages or list(toc)
    shots = {p: args.shots / (p.replace("/", "__") + ".png") for p in pages} \
        if args.shots else {}
    reports = check_pages(pages, args.html, args.workers, shots)
    bad = 0
    for page, r in reports.items():
        problems = r.problems(toc.get(page)) + r.overflows()
        bad += bool(problems)
        print(f"{'ok ' if not problems else 'BAD'} {r.seconds:5.1f} s  {page}")
        for p in problems:
            print(f"      {p}")
    print(f"{len(reports) - bad} pages fine, {bad} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
