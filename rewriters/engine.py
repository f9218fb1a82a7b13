"""Entry point of the rewriting engine: raw message in, rewritten message and findings out.

Stages, in the one order they run:

1. walk the MIME structure in the raw bytes (:mod:`rewriters.mime`), skipping signed and
   encrypted subtrees (reported as uncleanable) and ``message/rfc822`` attachments (noted);
2. read-receipt headers and the AMP alternative (whole byte ranges);
3. decode the HTML and plain-text body parts, tokenize the HTML, and gather message-wide image
   facts (the heuristics' exemptions need them before any decision);
4. compute character edits per part (:mod:`rewriters.markup`, :mod:`rewriters.plaintext`);
5. under ``disclose``, add the footer to every body part when something is tracked;
6. re-encode only edited parts and splice them into the original bytes.

Pure: no I/O, clock or randomness. Never raises: an internal failure returns the input
unchanged with a note and ``uncleanable`` set.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rewriters import charsets, footer, mime
from rewriters.decisions import Decider
from rewriters.detection import Detector
from rewriters.headers import line_ending, parse_fields
from rewriters.html import Scan, scan
from rewriters.identity import identity_for
from rewriters.knowledge import KNOWLEDGE
from rewriters.links import LinkRewriter
from rewriters.markup import HtmlRewriter, base_href, resolve
from rewriters.pixels import ImageStats, container_hides
from rewriters.plaintext import rewrite_text
from rewriters.treatment import (
    Action,
    Confidence,
    Purpose,
    RewriteContext,
    RewriteResult,
    Treatment,
)

READ_RECEIPTS = ("disposition-notification-to", "return-receipt-to", "x-confirm-reading-to")
SEALED = ("multipart/signed", "multipart/encrypted", "application/pkcs7-mime",
          "application/x-pkcs7-mime", "application/pgp-encrypted")
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_FORWARD_DEPTH = 2  # forwarded messages inside forwarded messages: report two levels deep


@dataclass
class Body:
    """One decoded body part being edited."""

    part: mime.Part
    decoded: charsets.Text
    html: bool
    eol: str
    scan: Scan | None = None
    edits: list[tuple[int, int, str]] = field(default_factory=list)


@dataclass
class Run:
    """State of one rewrite: byte edits on the raw message, notes, the decider."""

    raw: bytes
    decider: Decider
    edits: list[tuple[int, int, bytes | bytearray]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncleanable: bool = False
    depth: int = 0

    def cannot_clean(self, note: str) -> None:
        self.uncleanable = True
        self.notes.append(note)


def apply(raw: bytes, treatment: Treatment, context: RewriteContext) -> RewriteResult:
    """Return the message as the recipient should receive it, plus findings.

    ``strip`` removes pixels and beacons, unwraps recoverable click wrappers, drops per-person
    link parameters (never on unsubscribe, preference or view-in-browser links), the AMP
    alternative and read-receipt headers. ``permit`` keeps everything, ``disclose`` keeps
    trackers and adds a footer to each body part, both still stripping ``strip_purposes`` and
    vendors outside ``allowed_vendors``. Under ``disclose`` a message without any tracker gets
    no footer: there is nothing to disclose, and an unconditional footer would teach
    recipients to ignore it. ``report`` computes the ``strip`` findings (detail
    ``report-only``) and returns ``raw`` itself. Nothing to change also returns ``raw`` itself.
    """
    try:
        return _apply(raw, treatment, context)
    except Exception as exc:  # the relay must get bytes back whatever the input
        return RewriteResult(data=raw, uncleanable=True,
                             notes=[f"rewrite failed ({type(exc).__name__}); message unchanged"])


def _apply(
    raw: bytes, treatment: Treatment, context: RewriteContext, depth: int = 0
) -> RewriteResult:
    run = Run(raw, Decider(treatment, context), depth=depth)
    root = mime.parse(raw)
    _read_receipts(run, root)
    bodies = [b for b in (_body(run, p) for p in _leaves(run, root)) if b is not None]
    detector = Detector(KNOWLEDGE, identity_for(context.recipient), _scan_html(bodies))
    for body in bodies:
        if body.scan is not None:
            body.edits = HtmlRewriter(body.decoded.text, body.scan, detector, run.decider).run()
            body.scan = None  # the token list is the largest structure; free it before encoding
        else:
            links = LinkRewriter(detector, run.decider)
            body.edits = rewrite_text(body.decoded.text, links)
    if treatment.action is Action.DISCLOSE:
        _disclose(run, bodies, treatment, context)
    eol = line_ending(raw)
    while bodies:  # pop so each decoded text is freed before the next part is encoded
        body = bodies.pop()
        part, edited = body.part, _edited_bytes(body)
        del body
        if edited is not None:
            run.edits.append((part.body_start, part.end, mime.encode_body(edited, part, raw, eol)))
    data = raw if treatment.action is Action.REPORT else mime.splice(raw, run.edits)
    skipped = sorted(set(run.decider.notes))  # content left unscanned may still track
    notes = run.notes + skipped
    return RewriteResult(data, run.decider.findings, run.uncleanable or bool(skipped), notes)


def _scan_html(bodies: list[Body]) -> ImageStats:
    """Tokenize every HTML body and gather the message-wide image facts the heuristics need
    before any decision (a helper, so no loop variable keeps a token alive afterwards)."""
    stats = ImageStats()
    for body in bodies:
        if body.html:
            body.scan = scan(body.decoded.text, container_hides)
            base = base_href(body.scan)  # relative sources count as the URL they fetch
            for tag in body.scan.tags:
                src = tag.get("src") if tag.name == "img" else None
                if src:
                    stats.add(src if base is None else resolve(base, src), tag)
    return stats


def _leaves(run: Run, root: mime.Part) -> list[mime.Part]:
    """Body parts we may edit; sealed and attached-message parts are skipped and reported."""
    out: list[mime.Part] = []
    stack = [root]
    while stack:
        part = stack.pop()
        if part.ctype in SEALED:
            run.cannot_clean(f"{part.ctype} part left untouched (signed or encrypted)")
        elif part.ctype == "message/rfc822":
            _forwarded(run, part)
        elif part.children:
            stack.extend(reversed(part.children))
        elif part.opaque:
            run.cannot_clean(f"{part.ctype} part too deep or malformed; left untouched")
        elif part.ctype == "text/x-amp-html":
            _amp(run, part, root)
        elif part.ctype in ("text/html", "text/plain") and part.disposition != "attachment":
            out.append(part)
    return out


def _forwarded(run: Run, part: mime.Part) -> None:
    """A forwarded message stays byte-for-byte (it is someone else's mail, maybe signed), but
    its trackers are reported so the audit trail shows them and an admin can act on them."""
    run.notes.append("message/rfc822 attachment left untouched")
    if run.depth >= MAX_FORWARD_DEPTH or part.cte not in ("", "7bit", "8bit", "binary"):
        return
    decider = run.decider
    report = Treatment(Action.REPORT, strip_purposes=decider.treatment.strip_purposes)
    try:
        inner = _apply(run.raw[part.body_start : part.end], report, decider.context,
                       run.depth + 1)
    except Exception:  # a broken forward must not stop the outer message being cleaned
        run.notes.append("forwarded message could not be scanned")
        return
    for f in inner.findings:
        decider.findings.append(replace(f, where=f"forwarded {f.where}", action="reported",
                                        detail="inside a forwarded message, left untouched"))


def _read_receipts(run: Run, root: mime.Part) -> None:
    head = run.raw[: root.body_start].lower()
    if not any(name.encode() in head for name in READ_RECEIPTS):
        return  # a field name is ASCII: it cannot be there when its bytes are not
    for f in parse_fields(run.raw, root.body_start):
        if f.name not in READ_RECEIPTS:
            continue
        strip = run.decider.strips("read receipt", Purpose.OPEN_TRACKING)
        run.decider.add("read receipt", "header", "header", f.name, "removed" if strip else "kept",
                        Confidence.VENDOR_RULE, Purpose.OPEN_TRACKING)
        if strip:
            run.edits.append((f.start, f.end, b""))


def _amp(run: Run, part: mime.Part, root: mime.Part) -> None:
    """AMP can fetch at render time; without consent the whole alternative goes."""
    strip = run.decider.strips("AMP for Email", Purpose.OPEN_TRACKING)
    if strip and part is root:
        run.cannot_clean("message is AMP only; left untouched")
        return
    run.decider.add("AMP for Email", "amp", "amp", "", "removed" if strip else "kept",
                    Confidence.VENDOR_RULE, Purpose.OPEN_TRACKING)
    if strip:
        run.edits.append((part.outer_start, part.outer_end, b""))


def _body(run: Run, part: mime.Part) -> Body | None:
    if part.end - part.body_start > MAX_PART_BYTES:
        run.cannot_clean(f"{part.ctype} part over {MAX_PART_BYTES} bytes; left untouched")
        return None
    data = mime.decode_body(run.raw, part)
    decoded = charsets.decode(data, part.charset) if data is not None else None
    if decoded is None:
        run.cannot_clean(f"{part.ctype} part does not decode ({part.cte or '7bit'}, "
                         f"{part.charset or 'no charset'}); left untouched")
        return None
    eol = "\r\n" if "\r\n" in decoded.text[:4096] else "\n"
    return Body(part, decoded, part.ctype == "text/html", eol)


def _disclose(run: Run, bodies: list[Body], treatment: Treatment, ctx: RewriteContext) -> None:
    """Add the footer to every body part, but only when the message is tracked at all."""
    vendors = run.decider.kept_vendors()
    if not vendors:
        return
    purposes = [p.value for p in run.decider.kept_purposes()]
    lines = footer.lines(ctx.footer_text, treatment.footer_language, vendors, purposes,
                         ctx.consent_since, ctx.stop_tracking_url)
    for body in bodies:
        ascii_only = body.decoded.guessed or body.part.cte in ("", "7bit")
        if not ascii_only and not _encodes(lines, body.decoded.codec):
            ascii_only = True  # "donné" in us-ascii or Shift_JIS must not become "donn?"
        if body.html:
            block = footer.as_html(lines, ctx.stop_tracking_url, body.eol, ascii_only)
            at = footer.html_insert_at(body.decoded.text)
        else:
            block = footer.as_text(lines, body.eol, ascii_only)
            at = len(body.decoded.text.rstrip("\r\n"))
        body.edits.append((at, at, block))


def _encodes(lines: list[str], codec: str) -> bool:
    """Whether the footer encodes strictly in the part's codec."""
    try:
        "\n".join(lines).encode(codec)
    except (UnicodeError, LookupError):
        return False
    return True


def _edited_bytes(body: Body) -> bytearray | None:
    """The part's new content in its own charset (before transfer encoding), if it changed."""
    if not body.edits:
        return None
    return charsets.encode_spliced(body.decoded, body.edits, body.html)
