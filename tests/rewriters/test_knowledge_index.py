"""The precomputed indexes must answer exactly as the plain definitions they replace."""

from __future__ import annotations

import random
import re

from rewriters.decoders import query_value, raw_query_value, split_url
from rewriters.detection import Detector
from rewriters.identity import NOBODY
from rewriters.knowledge import KNOWLEDGE, Knowledge, Vendor, parse
from rewriters.pixels import ImageStats

DIGITS = re.compile(r"[0-9]+")


def walked_vendors(knowledge: Knowledge, host: str) -> list[Vendor]:
    """Reference: look up every suffix of two or more labels, as written, then digits as ``#``."""
    found: list[Vendor] = []
    forms = (host, DIGITS.sub("#", host)) if DIGITS.search(host) else (host,)
    for form in forms:
        labels = form.split(".")
        for size in range(2, len(labels) + 1):
            found.extend(knowledge.by_host.get(".".join(labels[-size:]), []))
    return found


def sample_hosts() -> list[str]:
    rng = random.Random(3)
    hosts = ["", ".", "com", "localhost", "a.b.c.d.e.f.g.h", "x" * 300 + ".com", "1.2.3.4"]
    for listed in KNOWLEDGE.by_host:
        for host in (listed, listed.replace("#", "0"), listed.replace("#", "42")):
            hosts += [host, "t." + host, "a.b.c." + host, "x" + host, host.partition(".")[2]]
            hosts.append(".".join(rng.sample(host.split(".") * 2, 3)))
    return hosts


def test_host_index_finds_what_the_suffix_walk_finds() -> None:
    for host in sample_hosts():
        assert KNOWLEDGE.host_vendors(host) == walked_vendors(KNOWLEDGE, host), host


def test_one_label_suffixes_match_nothing() -> None:
    knowledge = parse('version = 1\n[[vendors]]\nname = "T"\nhosts = ["example", "a.example"]\n'
                      'host_kind = "any"\n')
    assert knowledge.host_vendors("example") == []
    assert [v.name for v in knowledge.host_vendors("x.a.example")] == ["T"]


def test_raw_value_is_present_when_the_decoded_one_is() -> None:
    queries = ["", "t", "t=", "t=1", "a=1&t", "a=1&t=%41", "%74=1", "t+=1", "x=t", "tt=1&t=2",
               "a=1&amp;t=2", "%zz=1&t"]
    for query in queries:
        for name in ("t", "tt", "t ", "x"):
            raw = raw_query_value(query, name)
            assert (raw is not None) == (query_value(query, name) is not None), query


def test_memoised_destinations_match_the_decoders() -> None:
    detector = Detector(KNOWLEDGE, NOBODY, ImageStats())
    urls = [example["url"] for vendor in KNOWLEDGE.vendors for example in vendor.examples]
    urls += [url + ("&" if "?" in url else "?") + "n=2" for url in urls]  # same param, new id
    for url in urls * 2:  # the second round is answered from the memo
        det = detector.link(url)
        if det is not None and det.match is not None and split_url(url) is not None:
            assert detector.destination(det) == det.destination(), url


def test_raw_value_of_the_first_pair_is_read_as_the_split_reads_it() -> None:
    for query in ("t=1&u=2", "t=", "t=1", "t=a=b&t=2", "t&t=3", "tt=1&t=2", "t=%41&x"):
        pairs = [pair.partition("=") for pair in query.split("&")]
        expected = next((value for key, _, value in pairs if key == "t"), None)
        assert raw_query_value(query, "t") == expected, query
