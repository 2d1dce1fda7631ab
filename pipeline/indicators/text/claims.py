"""Claims: one figure, its indicator, its subject and its target year, sentence by sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.indicators.defs import (
    CURRENCIES,
    Definitions,
    IndicatorDef,
    load_definitions,
)
from pipeline.indicators.text.closeness import Sentence
from pipeline.indicators.text.figures import find_mentions_masked, mask_non_figures
from pipeline.indicators.text.subjects import (
    NOT_TRACKED,
    Gazetteer,
    SubjectMention,
    carried_subject,
    guess_subject_phrase,
    is_place,
    mark_references,
    pick_reference,
    pick_subject,
    unknown_owner,
)
from pipeline.indicators.text.targets import find_target_markers, pick_target_year
from pipeline.text import split_sentences

MAX_QUOTE_CHARS = 1000
# A "sentence" with more figures than this is a table or a list dump: no claim is read from it
# (and the per-figure work, which grows with figures x subjects x cues, stays bounded).
MAX_FIGURES_PER_SENTENCE = 24


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
    reference: str | None = None        # performance ratios: the chip compared against
    candidate: bool = False             # the subject is no known entity: subject_phrase is a guess
    subject_phrase: str | None = None


@dataclass
class Carry:
    """What a sentence hands on to the next: its subjects (when it names any) and its topics."""

    subjects: list[SubjectMention] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    latest: list[SubjectMention] = field(default_factory=list)   # the last sentence's own subjects

    def remember(self, subjects: list[SubjectMention], topics: list[str]) -> None:
        self.latest = subjects
        if subjects:
            self.subjects = subjects
        self.topics = topics


# "The rate currently stands at about 23 %", "Ihr Anteil stieg auf 53 Prozent": the sentence refers
# back to the figure of the sentence before
_ANAPHOR = re.compile(r"(?<![\w])(?:the\s+(?:rate|share|figure|ratio|quota)|that\s+share|this\s+share|its\s+share|their\s+share|"
                      r"die\s+Quote|der\s+Anteil|ihr\s+Anteil|sein\s+Anteil|dieser\s+Anteil|die\s+Rate|der\s+Wert|"
                      r"the\s+level|it|(?:sind|ist|waren|war)\s+es|the\s+(?:target|goal|aim)|das\s+Ziel|Ziel\s+(?:ist|sind)|followed\s+with|folgt\w*\s+mit|came\s+next\s+with|dahinter|dagegen|hingegen|by\s+contrast|"
                      r"in\s+contrast|of\s+(?:that|this)|(?<!gehen\s)(?<!geht\s)davon(?!\s+aus)|hiervon|"
                      # a rank continues the ranking of the sentence before ("SMIC ranked third with 5.1 %")
                      r"rank(?:ed|s)\s+(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))|(?:first|second|third|fourth|fifth)\s+place|"
                      r"(?:Platz|Rang)\s+(?:eins|zwei|drei|vier|fünf|\d{1,2}\.?))(?![\w])", re.IGNORECASE)


class Extractor:
    """Compiled rules for one set of definitions (build once, call for many texts)."""

    def __init__(self, definitions: Definitions | None = None):
        self.defs = definitions or load_definitions()
        self.gazetteer = Gazetteer(self.defs)
        self.indicators = self.defs.text_indicators

    def sentence_claims(self, sentence: str, language: str, carry: Carry | None = None) -> list[Claim]:
        """Claims of one sentence; ``carry`` holds the subjects and topics (cued indicators) of the
        sentences before, used when this one names none, and receives this sentence's."""
        carry = carry if carry is not None else Carry()
        carried = carry.subjects
        quote = sentence.strip()[:MAX_QUOTE_CHARS]
        masked = mask_non_figures(sentence)
        mentions = find_mentions_masked(masked, language)
        # subjects are looked up with the figures blanked out ("US$", "Mrd." are not subjects)
        blank = list(masked)
        for m in mentions:
            blank[m.start:m.end] = " " * (m.end - m.start)
        subjects = self.gazetteer.find("".join(blank))
        if len(mentions) > MAX_FIGURES_PER_SENTENCE:
            carry.remember(subjects, [])
            return []
        cue_spans = {ind.key: [(m.start(), m.end()) for c in ind.cues for m in c.finditer(masked)
                               if not _excluded(ind, masked, m)]
                     + (_chip_after_figure(mentions, subjects, masked) if ind.kind == "performance_ratio" else [])
                     for ind in self.indicators}
        carried_topics = carry.topics
        carry.remember(subjects, [key for key, spans in cue_spans.items() if spans])
        if not mentions:
            return []
        sent = Sentence(masked)
        possessive_ends = {s.end + 1 for s in subjects if s.possessive}
        positive = [span for spans in cue_spans.values() for span in spans]
        negative = [(m.start(), m.end()) for c in self.defs.negative_cues for m in c.finditer(masked)]
        negative = [n for n in negative if not any(n[0] < p[1] and p[0] < n[1] for p in positive)
                    and not any(n[0] < m.end and m.start < n[1] for m in mentions)]
        live = [m for i, m in enumerate(mentions) if not m.change and not _converted(mentions[:i], m, masked)]
        for m in live:
            if m.previous and _other_subject_follows(m, subjects, masked):
                m.previous = False  # "92 million, compared with 64 million for Kimi K2": another subject's
        marks = find_target_markers(masked, True)
        years = _trajectory_years(live, marks, sent)
        comparisons = [m for m in live if m.form in ("percent", "ratio")]
        claims: list[Claim] = []
        for index, mention in enumerate(live):
            if mention.previous or _REST_BEFORE.search(masked[max(0, mention.start - 25):mention.start]):
                continue
            segment = (live[index - 1].end if index else 0,
                       live[index + 1].start if index + 1 < len(live) else len(masked))
            ranked = self._ranked(mention, sent, cue_spans, negative, possessive_ends)
            if not ranked and claims and not mention.previous:
                ranked = self._same_as_before(mention, claims[-1], live[index - 1], sent, negative)
            if not ranked and not claims and carried_topics and _ANAPHOR.search(masked) and not negative:
                ranked = [i for i in self.indicators if i.key in carried_topics and mention.form in i.values][:1]
                carry.topics = carry.topics or carried_topics  # "The target is 70 %. Today the figure is 30 %."
            if not any(s.resolve({"company", "group"}) and not (s.attribution or s.modifier) for s in subjects):
                # a share with no company named is a country's own share: "domestic suppliers could meet
                # 40 % of China's demand" is self-sufficiency, not China's market share
                ranked.sort(key=lambda i: i.kind != "self_sufficiency_target")
            for ind in ranked:
                if ind.kind == "market_share" and _home_market_of_group(subjects, masked):
                    ind = next((i for i in self.indicators if i.kind == "self_sufficiency_target"), ind)
                if ind.requires_type and not any(ind.requires_type in s.types and not s.attribution
                                                 for s in subjects):
                    continue
                if ind.kind == "performance_ratio":
                    mark_references(subjects, comparisons, sent)
                owner = unknown_owner(mention, subjects, masked)  # "ahead of Nanya at 3 %": a candidate
                subject = None if owner else (_same_owner(claims, ind, mention, segment, subjects, masked)
                                              or pick_subject(ind, mention, subjects, sent, segment))
                reference = pick_reference(mention, subjects, sent) if ind.kind == "performance_ratio" else None
                for s in subjects:
                    s.reference = False
                if subject == NOT_TRACKED:
                    break
                if subject is None and carried and not owner:
                    subject = carried_subject(ind, carried)
                year = years[id(mention)]
                if subject is None:
                    phrase = owner or guess_subject_phrase(masked, mention)
                    if phrase:
                        claims.append(Claim(ind.key, ind.kind, "", mention.value, mention.unit, year,
                                            mention.approximate, quote, None, True, phrase))
                    break
                claims.append(Claim(ind.key, ind.kind, subject, mention.value, mention.unit, year,
                                    mention.approximate, quote, reference))
                break
        return _dedupe(claims)

    def _ranked(self, mention, sent: Sentence, cue_spans, negative, possessive_ends=frozenset()) -> list[IndicatorDef]:
        """The indicators that can take this figure, closest cue first (none when a negative cue
        is at least as close as the best cue)."""
        span = (mention.start, mention.end)
        # a negative cue behind a comma belongs to the next clause ("raised $250 million, valuing it at ...")
        # and a purpose cue naming what the money is for is the figure's own ("set aside $1.5 billion for legal
        # claims"; not "invest €2 billion for jobs and skills")
        neg = min((0 if _PURPOSE_BETWEEN.match(sent.text, span[1], n[0])
                   and any(c.match(sent.text, n[0]) for c in self.defs.purpose_cues) else
                   sent.distance(span, n) + ("," in sent.text[min(span[1], n[1]):max(span[0], n[0])])
                   for n in negative), default=None)
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
            # a cue owned by a named subject ("Nvidias Anteil am ... Markt ist ... auf 50 Prozent
            # gesunken") heads the clause and reaches twice as far
            dist = min((d for c in cue_spans[ind.key] if (d := sent.distance(span, c))
                        <= ind.window * (2 if c[0] in possessive_ends and not sent.crosses(span, c) else 1)), default=None)
            if dist is None or (neg is not None and neg <= dist):
                continue
            ranked.append((dist, order, ind))
        return [ind for _, _, ind in sorted(ranked, key=lambda r: (r[0], r[1]))]

    def _same_as_before(self, mention, before: Claim, previous, sent: Sentence, negative) -> list[IndicatorDef]:
        """"... slipped to 54 %, and Bernstein expects it to shrink to 30 % in 2027": a figure of the
        same form later in the sentence continues the indicator of the one before it, unless a
        negative cue comes between them ("raised €1.7bn in a round that values it at €11.7bn")."""
        ind = next(i for i in self.indicators if i.key == before.indicator)
        same_form = before.unit == mention.unit or (before.unit in CURRENCIES and mention.form == "currency")
        near_negative = any(sent.distance((mention.start, mention.end), n) <= 3 or previous.end <= n[0] < mention.start
                            for n in negative)
        return [ind] if same_form and not near_negative else []

    def entity_counts(self, text: str) -> dict[str, int]:
        """How often the text names each entity (its own name: a fund stays the fund)."""
        counts: dict[str, int] = {}
        self.extract(text, "en", entity_counts=counts)
        return counts

    def extract(self, text: str, language: str, *, candidates: bool = False,
                entity_counts: dict[str, int] | None = None) -> list[Claim]:
        """Claims of a text, sentence by sentence; a sentence that names no subject takes the one
        of the sentence before (the article's running subject). ``candidates``: also return figures
        whose subject is no known entity (Claim.candidate, with a guessed subject_phrase).
        ``entity_counts`` receives how often each entity is named (its own name: a fund stays the fund)."""
        language = (language or "en").lower()[:2]
        out: list[Claim] = []
        carry = Carry()
        for sentence in split_sentences(text or ""):
            claims = self.sentence_claims(sentence, language, carry)
            if entity_counts is not None:
                for named in carry.latest:
                    entity_counts[named.name] = entity_counts.get(named.name, 0) + 1
            out.extend(c for c in claims if candidates or not c.candidate)
        return out


# "..., others 7 %", "Sonstige: 12 Prozent", "the rest 9 %": a remainder, nobody's figure
_REST_BEFORE = re.compile(r"(?<![\w])(?:others|other\s+\w+|the\s+rest|rest|Sonstige\w*|andere\w*(?:\s+\w+)?|Übrige\w*|übrige\w*)"
                          r"\s*(?:[:(]\s*)?(?:(?:at|mit|bei|auf)\s+)?(?:(?:about|around|rund|etwa)\s+)?$", re.IGNORECASE)
_OWN_PRONOUN = re.compile(r"(?<![\w])(?:its|their|seine[nmrs]?|ihre[nmrs]?)(?![\w])")


def _same_owner(claims: list[Claim], ind: IndicatorDef, mention, segment: tuple[int, int],
                subjects: list[SubjectMention], text: str) -> str | None:
    """"TSMC will invest $100bn in Arizona, bringing its total to $165bn": a figure owned by "its"
    with no new actor named in between belongs to the subject of the claim before it."""
    if not claims or claims[-1].indicator != ind.key or not claims[-1].subject:
        return None
    own = _OWN_PRONOUN.search(text, segment[0], mention.start)
    if own is None or any(segment[0] <= s.start < own.start() and not s.modifier and not is_place(s, text)
                          for s in subjects):
        return None
    return claims[-1].subject


_CONVERSION = re.compile(r"^[\s,]*(?:\(|or|oder|i\.\s?e\.|umgerechnet|equivalent\s+to|entspricht|worth)?\s*"
                         r"(?:about|around|roughly|some|nearly|rund|etwa|knapp|gut|ca\.)?\s*$", re.IGNORECASE)


def _converted(before: list, mention, text: str) -> bool:
    """"¥3.9 trillion, or about $25 billion", "13 Mrd. Yuan (1,8 Mrd. Dollar)": the second amount
    is the first one converted, not a figure of its own."""
    if mention.form != "currency" or not before or before[-1].form != "currency" or before[-1].unit == mention.unit:
        return False
    between = text[before[-1].end:mention.start]
    return bool(between.strip()) and _CONVERSION.match(between) is not None or between.strip() == ""


# "Der Anteil chinesischer Anbieter am heimischen KI-Chipmarkt", "Chinese vendors' share of the domestic
# market": a country's own producers in their home market is the country's self-sufficiency
_HOME_MARKET = re.compile(r"(?<![\w])(?:heimisch|inländisch|einheimisch)\w*\s+(?:\w+\s+)?[\w\-]*[Mm]arkt\w*|"
                          r"(?<![\w])(?:domestic|home)\s+(?:[\w\-]+\s+){0,2}?markets?\b|"
                          r"(?<![\w])(?:the\s+country['’]s|des\s+Landes|im\s+eigenen\s+Land)(?![\w])", re.IGNORECASE)


def _home_market_of_group(subjects: list[SubjectMention], text: str) -> bool:
    groups = [s for s in subjects if "group" in s.types and s.resolve({"country"})]
    others = [s for s in subjects if "company" in s.types and not s.attribution]
    return bool(groups) and not others and _HOME_MARKET.search(text) is not None


_PURPOSE_BETWEEN = re.compile(r"\s*(?:\S+\s+){0,2}?(?:for|für|to\s+cover|zur\s+Deckung)\s+(?:\S+\s+){0,2}?$",
                              re.IGNORECASE)
_NEXT_WORDS = re.compile(r"(?:\s+\S+){0,5}")


def _excluded(ind: IndicatorDef, text: str, cue: re.Match) -> bool:
    """A cue about something else: its words, or the five after it ("Apple's share of the smartphone
    market"), name one of the indicator's cue exclusions."""
    if not ind.cue_exclusions:
        return False
    phrase = text[cue.start():cue.end()] + _NEXT_WORDS.match(text, cue.end()).group(0)
    return any(x.search(phrase) for x in ind.cue_exclusions)


_OF_CHIP = re.compile(r"^\s*(?:of|der|des|eines|that\s+of|those\s+of)\s+(?:(?:the|an?|Nvidia['’]s|Nvidias)\s+)?$",
                      re.IGNORECASE)


def _chip_after_figure(mentions, subjects: list[SubjectMention], text: str) -> list[tuple[int, int]]:
    """"reaches 80 % of the A100 in training", "1,3-fache eines H100": a share or multiple of a named
    chip is itself a performance comparison (the chip is the reference)."""
    return [(m.start, s.end) for m in mentions if m.form in ("percent", "ratio")
            for s in subjects if "chip" in s.types and s.start >= m.end and _OF_CHIP.match(text[m.end:s.start])]


_COMPARED = re.compile(r"(?:compared\s+(?:with|to)|verglichen\s+mit|gegenüber|versus|vs\.?)\s*$", re.IGNORECASE)


def _other_subject_follows(mention, subjects: list[SubjectMention], text: str) -> bool:
    if not _COMPARED.search(text[max(0, mention.start - 30):mention.start]):
        return False
    return any(0 <= s.start - mention.end <= 12 for s in subjects)


_FROM_BEFORE = re.compile(r"(?<![\w])(?:from|von)\s+(?:(?:rund|etwa|about|around|roughly|knapp|gut)\s+)?$",
                          re.IGNORECASE)


def _trajectory_years(live, marks, sent: Sentence) -> dict[int, int | None]:
    """Target years of a sentence's figures, read as a trajectory: "rose from 15 % in 2019 to 30 %
    in 2024 and is to hit 70 % by 2030" gives 30 (reported: a soft "in 2024" earlier than another
    figure's year is when it was reported) and 70 by 2030; "von rund 54 auf 30 Prozent im Jahr 2027"
    gives 54 as the current value (a start value is only old when the end value is not a target)."""
    picked = {id(m): pick_target_year(m, live, marks, sent) for m in live}
    latest = max((year for year, _ in picked.values() if year), default=None)
    years = {key: (None if soft and year is not None and latest and year < latest else year)
             for key, (year, soft) in picked.items()}
    for index, m in enumerate(live):
        if m.previous and _FROM_BEFORE.search(sent.text[max(0, m.start - 25):m.start]):
            following = [o for o in live[index + 1:] if o.form == m.form]
            if following and years[id(following[0])] is not None:
                m.previous = False
    return years


def _dedupe(claims: list[Claim]) -> list[Claim]:
    """One claim per figure: a converted amount ("13 Mrd. Yuan (1,8 Mrd. Dollar)", "umgerechnet rund
    570 Millionen Euro") is the first amount's equivalent, not a second investment."""
    seen, out = set(), []
    currency_of: dict[tuple[str, str], str] = {}
    for c in claims:
        key = (c.indicator, c.subject or c.subject_phrase or "")
        if c.kind == "investment" and currency_of.setdefault(key, c.unit) != c.unit:
            continue
        full = (c.indicator, c.subject, c.subject_phrase, c.value, c.unit)
        if full not in seen:
            seen.add(full)
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
