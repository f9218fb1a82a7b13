# ruff: noqa: E501  (the sample newsletter markup is data; its lines are as ESPs write them)
"""Benchmark the strip treatment on realistic marketing emails (not a test).

Generates three newsletters of about 15 KB, 80 KB and 400 KB of HTML in the shape ESPs send:
nested layout tables with inline CSS on every cell, a ``<style>`` block with media queries,
Outlook conditional comments with VML buttons, 40+ links (click wrappers, per-person
parameters, unsubscribe), content images and several pixels, in a quoted-printable
multipart/alternative message. Reports MB/s of HTML on one core and tracemalloc peak memory.

Run: ``.venv/bin/python bench/bench_rewrite.py`` (numbers go to docs/benchmarks-rewriters.md).
"""

from __future__ import annotations

import quopri
import time
import tracemalloc

from rewriters import STRIP, RewriteContext, apply

RECIPIENT = "alice@example.org"
HEAD = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Weekly picks</title>
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/><o:PixelsPerInch>96</o:PixelsPerInch></o:OfficeDocumentSettings></xml><![endif]-->
<style type="text/css">
body{margin:0;padding:0;-webkit-text-size-adjust:100%;} table,td{border-collapse:collapse;mso-table-lspace:0pt;mso-table-rspace:0pt;}
img{border:0;height:auto;line-height:100%;outline:none;text-decoration:none;} .btn a{color:#ffffff !important;}
@media only screen and (max-width:600px){ .col{width:100% !important;display:block !important;} .hide-mobile{display:none !important;} }
@media (prefers-color-scheme: dark){ .dark-bg{background-color:#111111 !important;} }
@media print{ #_t{background-image:url('https://a1b2c3d4.emltrk.com/v2/a1b2c3d4?p&d=sub123');} }
</style></head>
<body style="margin:0;padding:0;background-color:#f2f2f2;" class="dark-bg">
<div style="display:none;max-height:0px;overflow:hidden;">Fresh picks for the week &zwnj;&nbsp;&zwnj;&nbsp;</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f2f2f2;"><tr><td align="center" style="padding:20px 10px;">
"""
BLOCK = """<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;background-color:#ffffff;border-radius:4px;"><tr>
<td class="col" width="300" valign="top" style="padding:16px 12px 16px 24px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333;">
<a href="https://u1234567.ct.sendgrid.net/ls/click?upn=u001.{n}aB3dEfGhIjKlMnOpQrStUvWxYz-2B{n}" style="text-decoration:none;"><img src="https://cdn.shop.example/products/{n}/photo-600x400.jpg" width="276" height="184" alt="Product {n} &amp; friends" style="display:block;width:100%;max-width:276px;height:auto;"></a>
<h2 style="margin:12px 0 4px 0;font-size:18px;line-height:24px;color:#111111;">Product n&deg;{n} &mdash; caf&eacute; edition</h2>
<p style="margin:0 0 12px 0;">Hand-picked for you: soft, durable and made to last. Only &euro;{n}9.95 this week.</p>
</td>
<td class="col" width="300" valign="top" style="padding:16px 24px 16px 12px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333;">
<p style="margin:0 0 8px 0;"><a href="https://www.shop.example/p/{n}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=wk48&amp;mc_eid=83b1a2c4d5&amp;_hsenc=p2ANqtz-{n}" style="color:#0066cc;">Read the review</a></p>
<p style="margin:0 0 8px 0;"><a href="https://click.pstmrk.it/3s/www.shop.example%2Fguide%2F{n}/AbCd/xyz{n}/sig" style="color:#0066cc;">Size guide</a></p>
<!--[if mso]>
<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" href="https://1a2b3c4d.r.us-east-1.awstrack.me/L0/https:%2F%2Fwww.shop.example%2Fcart%3Fadd={n}/1/0100018c1a2b3c4d/Xk3jZ9pQ=351" style="height:40px;v-text-anchor:middle;width:200px;" arcsize="10%" strokecolor="#e85c41" fillcolor="#e85c41"><w:anchorlock/><center style="color:#ffffff;font-family:sans-serif;font-size:16px;">Add to cart</center></v:roundrect>
<![endif]-->
<!--[if !mso]><!-- --><table role="presentation" cellpadding="0" cellspacing="0" border="0" class="btn"><tr><td style="border-radius:4px;background-color:#e85c41;"><a href="https://1a2b3c4d.r.us-east-1.awstrack.me/L0/https:%2F%2Fwww.shop.example%2Fcart%3Fadd={n}/1/0100018c1a2b3c4d/Xk3jZ9pQ=351" style="display:inline-block;padding:10px 24px;font-family:sans-serif;font-size:16px;color:#ffffff;text-decoration:none;">Add to cart</a></td></tr></table><!--<![endif]-->
</td></tr></table>
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"><tr><td height="12" style="font-size:12px;line-height:12px;">&nbsp;</td></tr></table>
"""
TYPICAL = """<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" style="width:600px;background-color:#ffffff;"><tr>
<td class="col" width="300" valign="top" style="padding:16px 12px 16px 24px;">
<a href="https://u1234567.ct.sendgrid.net/ls/click?upn=u001.{n}aB3dEfGhIjKlMnOpQrStUvWxYz-2B{n}" style="text-decoration:none;"><img src="https://cdn.shop.example/products/{n}/photo-600x400.jpg" width="276" height="184" alt="Product {n}" style="display:block;width:100%;max-width:276px;height:auto;"></a>
</td>
<td class="col" width="300" valign="top" style="padding:16px 24px 16px 12px;font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;color:#333333;">
<h2 style="margin:0 0 6px 0;font-size:18px;line-height:24px;color:#111111;">Product n&deg;{n} &mdash; caf&eacute; edition</h2>
<p style="margin:0 0 10px 0;">Hand-picked for you this week: a soft, durable piece made from recycled fibres in a small workshop near Porto. It washes at 40&deg;, keeps its shape season after season and comes in six colours, from sand to deep forest green.</p>
<p style="margin:0 0 10px 0;">Customers call it &ldquo;the one I reach for first&rdquo;. Free returns for 60 days, and every order plants a tree with our partner charity.</p>
<p style="margin:0 0 12px 0;font-size:13px;color:#666666;">Was &euro;{n}4.95 &middot; now &euro;{n}9.95 &middot; while stocks last</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td style="border-radius:4px;background-color:#e85c41;"><a href="https://www.shop.example/p/{n}?utm_source=newsletter&amp;utm_medium=email&amp;mc_eid=83b1a2c4d5" style="display:inline-block;padding:10px 24px;font-family:sans-serif;font-size:16px;color:#ffffff;text-decoration:none;">Shop now</a></td></tr></table>
</td></tr></table>
<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"><tr><td height="12" style="font-size:12px;line-height:12px;">&nbsp;</td></tr></table>
"""
FOOT = """<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"><tr><td align="center" style="padding:20px;font-family:Arial,sans-serif;font-size:12px;color:#888888;">
<p><a href="https://acme.us12.list-manage.com/unsubscribe?u=6a8b1c&amp;id=77aa&amp;e=83b1a2c4d5&amp;mc_eid=83b1a2c4d5" style="color:#888888;">Unsubscribe</a> &middot;
<a href="https://acme.us12.list-manage.com/profile?u=6a8b1c&amp;id=77aa&amp;e=83b1a2c4d5" style="color:#888888;">Preferences</a> &middot;
<a href="https://acme.us12.list-manage.com/track/click?u=6a8b1c&amp;id=4f2e9d&amp;e=83b1a2c4d5" style="color:#888888;">View in browser</a></p>
<p>Shop Example Ltd &middot; 1 Market Street &middot; Dublin</p>
</td></tr></table>
</td></tr></table>
<div id="_t"></div>
<img src="https://acme.us12.list-manage.com/track/open.php?u=6a8b1c&amp;id=4f2e9d&amp;e=83b1a2c4d5" height="1" width="1" alt="">
<img src="https://u1234567.ct.sendgrid.net/wf/open?upn=aB3dEfGhIjKlMnOpQrStUvWxYz" alt="" width="1" height="1" border="0" style="height:1px !important;width:1px !important;">
<img src="https://a1b2c3d4.emltrk.com/v2/a1b2c3d4?d=sub123" width="1" height="1" border="0">
</body></html>
"""


def newsletter_html(target: int, block_template: str = TYPICAL) -> str:
    """HTML of roughly ``target`` bytes: one block per product until the size is reached.

    ``TYPICAL`` blocks carry two links and real copy (about one link per KB, as in ESP
    templates); ``BLOCK`` is a link-dense stress case (five wrapped or tracked links per block,
    including an Outlook VML button).
    """
    blocks: list[str] = []
    size = len(HEAD) + len(FOOT)
    n = 0
    while size < target:
        block = block_template.format(n=n)
        blocks.append(block)
        size += len(block)
        n += 1
    return HEAD + "".join(blocks) + FOOT


def message(html: str) -> bytes:
    """The HTML in a QP multipart/alternative message with a plain-text sibling."""
    body = quopri.encodestring(html.encode("utf-8").replace(b"\n", b"\r\n"))
    text = b"Weekly picks: https://www.shop.example/wk48?mc_eid=83b1a2c4d5\r\n"
    return (
        b"From: Shop <news@shop.example>\r\nTo: alice@example.org\r\nSubject: Weekly picks\r\n"
        b"Message-ID: <bench@shop.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text
        + b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + body + b"\r\n--b1--\r\n"
    )


def measure(label: str, target: int, block_template: str = TYPICAL
            ) -> tuple[str, int, int, int, float, float, int]:
    html = newsletter_html(target, block_template)
    raw = message(html)
    context = RewriteContext(recipient=RECIPIENT)
    result = apply(raw, STRIP, context)
    links = html.count("<a ") + html.count("<v:roundrect")
    repeats = max(5, int(4_000_000 / len(raw)))
    rounds = []
    for _ in range(5):  # best of five rounds, as timeit does: noise only ever adds time
        start = time.process_time()  # CPU time of this process, not wall time
        for _ in range(repeats):
            apply(raw, STRIP, context)
        rounds.append((time.process_time() - start) / repeats)
    seconds = min(rounds)
    tracemalloc.start()
    apply(raw, STRIP, context)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mbps = len(html.encode()) / seconds / 1e6
    assert result.findings, "the sample must contain trackers"
    return label, len(html.encode()), len(raw), links, seconds * 1000, mbps, peak


def main() -> None:
    rows = [measure("15 KB", 15_000), measure("80 KB", 80_000), measure("400 KB", 400_000),
            measure("80 KB*", 80_000, BLOCK)]
    print(f"{'message':8} {'HTML bytes':>10} {'msg bytes':>10} {'links':>5} {'ms/msg':>8} "
          f"{'MB/s HTML':>9} {'peak MB':>8} {'peak/msg':>8}")
    for label, html_len, raw_len, links, ms, mbps, peak in rows:
        print(f"{label:8} {html_len:>10} {raw_len:>10} {links:>5} {ms:>8.2f} {mbps:>9.1f} "
              f"{peak / 1e6:>8.2f} {peak / raw_len:>7.1f}x")
    print("* link-dense stress case: five tracked links per product block (VML buttons included)")


if __name__ == "__main__":
    main()
