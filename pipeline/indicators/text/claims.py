"""Claims: one figure, its indicator, its subject and its target year, sentence by sentence."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.indicators.defs import Definitions, load_definitions
from pipeline.indicators.text.closeness import Sentence
from pipeline.indicators.text.figures import find_mentions_masked, mask_non_figures
from pipeline.indicators.text.subjects import Gazetteer, mark_references, pick_subject
from pipeline.indicators.text.targets import find_target_markers, pick_target_year
from pipeline.text import split_sentences

MAX_QUOTE_CHARS = 1000


@dataclass(frozen=True)
class Claim:
    indicator: str
    kind: str
    subject: str
    value: float
    unit: str
    target_year: int | None
    approximate: bool
    quote: str


class Extractor:
    """Compiled rules for one set of definitions (build once, call for many texts)."""

    def __init__(self, definitions: Definitions | None = None):
        self.defs = definitions or load_definitions()
        self.gazetteer = Gazetteer(self.defs)
        self.indicators = self.defs.text_indicators

    def sentence_claims(self, sentence: str, language: str) -> list[Claim]:
        quote = sentence.strip()[:MAX_QUOTE_CHARS]
        masked = mask_non_figures(sentence)
        mentions = find_mentions_masked(masked, language)
        if not mentions:
            return []
        sent = Sentence(masked)
        # subjects are looked up with the figures blanked out ("US$", "Mrd." are not subjects)
        blank = list(masked)
        for m in mentions:
            blank[m.start:m.end] = " " * (m.end - m.start)
        subjects = self.gazetteer.find("".join(blank))
        if not subjects:
            return []
        cue_spans = {ind.key: [(m.start(), m.end()) for c in ind.cues for m in c.finditer(masked)]
                     for ind in self.indicators}
        positive = [span for spans in cue_spans.values() for span in spans]
        negative = [(m.start(), m.end()) for c in self.defs.negative_cues for m in c.finditer(masked)]
        negative = [n for n in negative if not any(n[0] < p[1] and p[0] < n[1] for p in positive)
                    and not any(n[0] < m.end and m.start < n[1] for m in mentions)]
        live = [m for m in mentions if not m.change]
        marks = find_target_markers(masked, True)
        claims: list[Claim] = []
        for mention in live:
            if mention.previous:
                continue
            span = (mention.start, mention.end)
            neg = min((sent.distance(span, n) for n in negative), default=None)
            ranked = []
            for order, ind in enumerate(self.indicators):
                if mention.form not in ind.values:
                    continue
                if mention.form == "percent" and ind.kind in ("market_share", "self_sufficiency_target") \
                        and not 0 < mention.value <= 100:
                    continue
                if mention.form == "count" and ind.kind == "downloads" and not mention.counted \
                        and mention.value < 1000:
                    continue
                if mention.noun and not any(c[0] <= mention.noun[0] < c[1] or mention.noun[0] <= c[0] < mention.noun[1]
                                            for c in cue_spans[ind.key]):
                    continue  # "90.000 abgeleitete Modelle" counts models, not downloads
                dist = min((sent.distance(span, c) for c in cue_spans[ind.key]), default=None)
                if dist is None or dist > ind.window or (neg is not None and neg <= dist):
                    continue
                ranked.append((dist, order, ind))
            for _, _, ind in sorted(ranked, key=lambda r: (r[0], r[1])):
                if ind.requires_type and not any(ind.requires_type in s.types and not s.attribution
                                                 for s in subjects):
                    continue
                if ind.kind == "performance_ratio":
                    mark_references(subjects, mention, sent)
                subject = pick_subject(ind, mention, subjects, sent)
                for s in subjects:
                    s.reference = False
                if subject is None:
                    continue
                claims.append(Claim(ind.key, ind.kind, subject, mention.value, mention.unit,
                                    pick_target_year(mention, live, marks, sent), mention.approximate, quote))
                break
        return _dedupe(claims)

    def extract(self, text: str, language: str) -> list[Claim]:
        language = (language or "en").lower()[:2]
        out: list[Claim] = []
        for sentence in split_sentences(text or ""):
            out.extend(self.sentence_claims(sentence, language))
        return out


def _dedupe(claims: list[Claim]) -> list[Claim]:
    seen, out = set(), []
    usd = {(c.indicator, c.subject) for c in claims if c.unit == "usd"}
    for c in claims:
        if c.unit in ("eur", "cny") and (c.indicator, c.subject) in usd:
            continue  # "344 Mrd. Yuan (47,5 Mrd. Dollar)": keep the dollar figure only
        key = (c.indicator, c.subject, c.value, c.unit)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


_default: Extractor | None = None


def default_extractor() -> Extractor:
    global _default
    if _default is None or _default.defs is not load_definitions():
        _default = Extractor()
    return _default


def extract_claims(text: str, language: str, definitions: Definitions | None = None) -> list[Claim]:
    """Figure claims in a German ('de') or English ('en') text; pure (no I/O beyond the cached YAML)."""
    extractor = Extractor(definitions) if definitions is not None else default_extractor()
    return extractor.extract(text, language)
