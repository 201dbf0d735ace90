"""The HTML report in a real headless browser (Debian's Chromium; skipped when it is absent).

The report is served over a loopback HTTP server next to a checking page that loads it in a
frame (same origin) and records, after the load event, whether every image decoded and every
link answered 200.  Chromium prints the checking page's DOM, which the test reads.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import threading

import pytest

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")

from report_stores import write_site_store  # noqa: E402

from s1da.framework import report  # noqa: E402

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)

CHECKER = """<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="page" src="report/index.html" width="1200" height="900"></iframe>
<script>
document.getElementById("page").addEventListener("load", function () {
  var doc = this.contentDocument;
  var images = Array.from(doc.images).map(function (img) {
    return {src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0, width: img.naturalWidth};
  });
  var links = Array.from(doc.querySelectorAll("a[href]")).map(function (a) {
    var request = new XMLHttpRequest();
    request.open("GET", a.href, false);
    try { request.send(); } catch (error) { return {href: a.getAttribute("href"), status: -1}; }
    return {href: a.getAttribute("href"), status: request.status};
  });
  var result = {title: doc.title, headings: Array.from(doc.querySelectorAll("h2")).map(function (h) { return h.textContent; }),
                tables: doc.querySelectorAll("table").length, images: images, links: links};
  document.getElementById("result").textContent = JSON.stringify(result);
});
</script></body></html>
"""


@pytest.fixture
def served_report(tmp_path):
    store = write_site_store(tmp_path / "exp.zarr", operators=("wcm", "sm"))
    site = tmp_path / "site"
    report.write_report(store, site / "report", formats=("png", "pdf"), dpi=60)
    (site / "check.html").write_text(CHECKER)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/check.html", tmp_path
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (apt-get install chromium)")
def test_report_renders_and_every_image_and_link_resolves(served_report):
    url, tmp_path = served_report
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--dump-dom", url]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="result">(.*?)</pre>', completed.stdout, re.S)
    assert match, f"no result in the browser's DOM; stderr: {completed.stderr[-2000:]}"
    result = json.loads(match.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"'))
    assert result["title"] == "s1da report: exp.zarr"
    assert result["tables"] >= 4 and "Settings" in result["headings"] and "Figures" in result["headings"]
    assert len(result["images"]) == len(report.FIGURES)
    assert all(image["ok"] and image["width"] > 100 for image in result["images"]), result["images"]
    hrefs = {link["href"] for link in result["links"]}
    assert {"sites.csv", "summary.md", "fig1_forward_fit.pdf", "fig1_forward_fit.png"} <= hrefs
    assert all(link["status"] == 200 for link in result["links"]), result["links"]
